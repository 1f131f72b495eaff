# VirtCloud hook for OpenPBS / PBS Pro MoMs: one hook for execjob_begin,
# execjob_end and exechost_periodic. execjob_begin and execjob_end run on
# every node of a job, sisters included, which the VLAN of a cluster needs.
# The work is done by vc-prologue, vc-epilogue and vc-periodic; this hook
# only passes the job's data and turns their exit status into accept or
# reject (see hooks/README.md for the install lines).
import os
import subprocess

import pbs

BIN = os.environ.get("VIRTCLOUD_BIN", "/usr/local/sbin")
# The hooks' configuration; None means vc-* use /etc/virtcloud/virtcloud.toml.
CONFIG = os.environ.get("VIRTCLOUD_CONFIG")
# Below the hook's alarm (set it above [hooks] budget, e.g. 90 s).
TIMEOUT = 80

ACCEPT, ABORT, REQUEUE, OFFLINE = 0, 1, 2, 3


def hosts_of(job):
    """exec_host "nodeA/0*2+nodeB/1" -> "nodeA,nodeB"."""
    seen = []
    for part in str(job.exec_host or "").split("+"):
        host = part.split("/")[0].strip()
        if host and host not in seen:
            seen.append(host)
    return ",".join(seen)


def request_of(job):
    """The request string travels as job variable VIRTCLOUD_REQUEST
    (qsub -v VIRTCLOUD_REQUEST=vcluster:...): MoM hooks see no custom
    resources."""
    try:
        v = job.Variable_List["VIRTCLOUD_REQUEST"]
    except (KeyError, TypeError):
        return ""
    return "" if v is None else str(v)


def job_argv(prog, job):
    wall = job.Resource_List["walltime"]
    argv = [os.path.join(BIN, prog), "--openpbs", "-job", str(job.id),
            "-user", str(job.euser or ""), "-queue", str(job.queue.name if job.queue else ""),
            "-walltime", "" if wall is None else str(wall),
            "-hosts", hosts_of(job), "-request", request_of(job)]
    if not job.in_ms_mom():
        argv.append("-sister")
    return argv


def run(argv):
    env = {"PATH": "/usr/bin:/bin"}
    if CONFIG:
        env["VIRTCLOUD_CONFIG"] = CONFIG
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return REQUEUE, "%s: timed out after %d s" % (argv[0], TIMEOUT)
    except OSError as exc:
        return OFFLINE, "%s: %s" % (argv[0], exc)
    msg = (p.stderr or p.stdout or b"").decode("utf-8", "replace").strip()
    return p.returncode, msg


def main():
    e = pbs.event()
    # A hook with freq set also runs as the server's periodic event, with no
    # job: look at the type before touching e.job.
    if e.type in (pbs.EXECHOST_PERIODIC, getattr(pbs, "PERIODIC", None)):
        rc, msg = run([os.path.join(BIN, "vc-periodic")])
        if rc != 0:
            pbs.logmsg(pbs.LOG_WARNING, "virtcloud: " + msg)
        e.accept()
        return
    if e.type == pbs.EXECJOB_END:
        rc, msg = run(job_argv("vc-epilogue", e.job))
        if msg:
            pbs.logmsg(pbs.LOG_WARNING, "virtcloud: " + msg)
        e.accept()  # an end hook never fails: the release is queued instead
        return
    if e.type != pbs.EXECJOB_BEGIN:
        e.accept()
        return
    rc, msg = run(job_argv("vc-prologue", e.job))
    if rc == ACCEPT:
        e.accept()
    elif rc == ABORT:
        # Bad request or refused for good: requeueing cannot help.
        e.job.comment = "virtcloud: " + msg
        e.job.delete()
        e.reject("virtcloud: " + msg)
    elif rc == OFFLINE:
        vn = e.vnode_list[pbs.get_local_nodename()]
        vn.state = pbs.ND_OFFLINE
        vn.comment = "virtcloud: " + msg
        e.reject("virtcloud: host fault: " + msg)
    else:
        e.reject("virtcloud: " + msg)  # requeued; the node stays up


main()
