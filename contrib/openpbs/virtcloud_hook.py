# VirtCloud hook for OpenPBS / PBS Pro (see hooks/README.md for the install
# lines). One hook, five events:
#   queuejob           (server) a request given as -l vcluster=... is copied
#                      into the job variable VIRTCLOUD_REQUEST, the one the
#                      MoM can see: MoM hooks get no custom resources.
#   execjob_begin      (every MoM of the job) vc-prologue, for cluster jobs
#                      only; ordinary jobs are decided here, running nothing.
#   execjob_launch     (the primary MoM) the job's VLAN, bridge and lease
#                      into the job's environment.
#   execjob_end        vc-epilogue.
#   exechost_periodic  vc-periodic.
import json
import os
import subprocess

import pbs

try:
    import tomllib
except ImportError:  # Python before 3.11: every job asks vc-prologue
    tomllib = None

BIN = os.environ.get("VIRTCLOUD_BIN", "/usr/local/sbin")
CONFIG = os.environ.get("VIRTCLOUD_CONFIG", "/etc/virtcloud/virtcloud.toml")
# Below the hook's alarm (set it above [hooks] budget, e.g. 90 s).
TIMEOUT = 80
# What vc-prologue's exit status asks for (hooks/openpbs.go).
ACCEPT, ABORT, REQUEUE, OFFLINE, OFFLINE_ACCEPT = 0, 1, 2, 3, 4
# A reject message longer than this, or on several lines, reaches the
# server garbled ("internal error"): the user would never learn why.
MAX_REASON = 200


def one_line(msg):
    """The last non-empty line of a binary's output, shortened: the binary
    prints its reason last, after any retry warnings."""
    lines = [l.strip() for l in str(msg).splitlines() if l.strip()]
    line = lines[-1] if lines else "no reason given"
    return line if len(line) <= MAX_REASON else line[:MAX_REASON - 3] + "..."


def log(msg):
    pbs.logmsg(pbs.LOG_DEBUG, "virtcloud: " + msg)


def hosts_of(job):
    """The job's execution hosts, in order, without repeats. exec_host2
    names each chunk's MoM host ("hostA:15002/0*2+hostB:15002/0"); a real
    MoM has exec_host None. Without exec_host2 the vnodes of exec_vnode
    ("(hostA:ncpus=1+hostA[1]:ncpus=1)+(hostB:ncpus=2)") stand for their
    hosts, a multi-vnode host's "name[N]" mapped to "name"."""
    names = []
    eh2 = str(job.exec_host2 or "")
    if eh2:
        names = [p.split(":")[0].split("/")[0] for p in eh2.split("+")]
    else:
        for chunk in str(job.exec_vnode or "").split("+"):
            vn = chunk.strip().lstrip("(").split(":")[0].rstrip(")")
            names.append(vn.split("[")[0])
        if not any(names):
            names = [p.split("/")[0] for p in str(job.exec_host or "").split("+")]
    seen = []
    for n in names:
        n = n.strip()
        if n and n not in seen:
            seen.append(n)
    return ",".join(seen)


def request_of(job):
    """The request string: job variable VIRTCLOUD_REQUEST (qsub -v, or set
    by queuejob from -l vcluster=...)."""
    try:
        v = job.Variable_List["VIRTCLOUD_REQUEST"]
    except (KeyError, TypeError):
        return ""
    return "" if v is None else str(v)


def queue_of(job):
    q = job.queue
    return str(q.name) if q is not None and hasattr(q, "name") else str(q or "")


def cluster_queues():
    """[hooks] queues of the configuration, or None when this hook cannot
    tell (no tomllib, or the file missing, unreadable, readable by others
    or malformed): then vc-prologue decides and reports what is wrong."""
    if tomllib is None:
        return None
    try:
        if os.stat(CONFIG).st_mode & 0o007:
            return None
        with open(CONFIG, "rb") as f:
            q = tomllib.load(f).get("hooks", {}).get("queues", [])
    except (OSError, ValueError):
        return None
    return q if isinstance(q, list) else None


def job_argv(prog, job):
    wall = job.Resource_List["walltime"]
    argv = [os.path.join(BIN, prog), "--openpbs", "-job", str(job.id),
            "-user", str(job.euser or ""), "-queue", queue_of(job),
            "-walltime", "" if wall is None else str(wall),
            "-hosts", hosts_of(job), "-request", request_of(job)]
    if not job.in_ms_mom():
        argv.append("-sister")
    return argv


def run(argv):
    """Runs a vc-* binary; returns its exit status and its output (the
    stdout line for the job, stderr's reason)."""
    env = {"PATH": "/usr/bin:/bin", "VIRTCLOUD_CONFIG": CONFIG}
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return REQUEUE, "", "%s: timed out after %d s" % (argv[0], TIMEOUT)
    except OSError as exc:
        # Missing or unusable binaries: this host cannot run clusters.
        return OFFLINE, "", "%s: %s" % (argv[0], exc.strerror or exc)
    dec = lambda b: (b or b"").decode("utf-8", "replace").strip()
    return p.returncode, dec(p.stdout), dec(p.stderr)


def tell_user(job, msg):
    """Appends msg to the job's error file: the server replaces the comment
    of a job a hook deleted with its own, and a job that never ran gets no
    output, so the user would not learn why. Only a regular file of the
    job's owner, or a new one in a directory of the owner or a sticky one;
    never through a link."""
    try:
        import pwd
        import stat
        path = str(job.Error_Path or "").split(":", 1)[-1]
        uid = pwd.getpwnam(str(job.euser)).pw_uid
        d = os.stat(os.path.dirname(path) or "/")
        if d.st_uid != uid and not (d.st_mode & stat.S_ISVTX and d.st_mode & 0o002):
            return
        flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
            os.fchown(fd, uid, -1)
        except FileExistsError:
            fd = os.open(path, flags)
        try:
            st = os.fstat(fd)
            if st.st_uid == uid and stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                os.write(fd, (msg + "\n").encode())
        finally:
            os.close(fd)
    except (OSError, KeyError, ValueError, AttributeError) as exc:
        log("job %s: cannot tell the user: %s" % (job.id, exc))


def offline(e, reason):
    vn = e.vnode_list[pbs.get_local_nodename()]
    vn.state = pbs.ND_OFFLINE
    vn.comment = reason


def begin(e):
    job = e.job
    req, queue = request_of(job), queue_of(job)
    if not req.startswith("vcluster"):
        queues = cluster_queues()
        if queues is not None and queue not in queues:
            log("job %s is ordinary (queue %s, no request)" % (job.id, queue))
            e.accept()
    rc, out, err = run(job_argv("vc-prologue", job))
    if out:
        log(out)
    reason = "virtcloud: " + one_line(err)
    if rc == ACCEPT:
        log("job %s accepted" % job.id)
        e.accept()
    if rc == ABORT:
        # Bad request or refused for good: requeueing cannot help.
        log("job %s aborted: %s" % (job.id, one_line(err)))
        tell_user(job, "%s: job %s aborted" % (reason, job.id))
        job.comment = reason
        job.delete()
        e.reject(reason)
    if rc in (OFFLINE, OFFLINE_ACCEPT):
        offline(e, reason)
        log("vnode %s offline: %s" % (pbs.get_local_nodename(), one_line(err)))
        if rc == OFFLINE_ACCEPT:
            e.accept()  # an ordinary job may still run here
        e.reject(reason)
    # Requeued (the scheduler runs it again); the node stays up.
    log("job %s requeued: %s" % (job.id, one_line(err)))
    job.comment = reason
    e.reject(reason)


def launch(e):
    """The job's network into its environment, from the record vc-prologue
    left in the spool."""
    rec = spool_record(e.job.id)
    if rec:
        e.env["VIRTCLOUD_VLAN"] = str(rec.get("vlan", ""))
        e.env["VIRTCLOUD_BRIDGE"] = str(rec.get("bridge", ""))
        e.env["VIRTCLOUD_LEASE"] = str(e.job.id)
    e.accept()


def spool_record(job):
    if tomllib is None:
        return None
    try:
        with open(CONFIG, "rb") as f:
            spool = tomllib.load(f).get("hooks", {}).get("spool_dir", "/var/spool/virtcloud")
        with open(os.path.join(spool, "jobs", str(job) + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def queuejob(e):
    """-l vcluster=STR becomes VIRTCLOUD_REQUEST=vcluster:STR (or STR when
    it already starts with vcluster)."""
    v = e.job.Resource_List["vcluster"]
    if v is not None:
        v = str(v)
        e.job.Variable_List["VIRTCLOUD_REQUEST"] = v if v.startswith("vcluster") else "vcluster:" + v
    e.accept()


def main():
    e = pbs.event()
    # A hook with freq set also runs as the server's periodic event, with no
    # job: look at the type before touching e.job.
    if e.type in (pbs.EXECHOST_PERIODIC, getattr(pbs, "PERIODIC", None)):
        if e.type == pbs.EXECHOST_PERIODIC:
            rc, _, err = run([os.path.join(BIN, "vc-periodic")])
            if rc != 0:
                pbs.logmsg(pbs.LOG_WARNING, "virtcloud: " + one_line(err))
        e.accept()
    if e.type == getattr(pbs, "QUEUEJOB", None):
        queuejob(e)
    if e.type == pbs.EXECJOB_END:
        queues = cluster_queues()
        if request_of(e.job) or queues is None or queue_of(e.job) in queues:
            rc, _, err = run(job_argv("vc-epilogue", e.job))
            if err:
                pbs.logmsg(pbs.LOG_WARNING, "virtcloud: " + one_line(err))
        e.accept()  # an end hook never fails: the release is queued instead
    if e.type == getattr(pbs, "EXECJOB_LAUNCH", None):
        launch(e)
    if e.type == pbs.EXECJOB_BEGIN:
        begin(e)
    e.accept()


main()
