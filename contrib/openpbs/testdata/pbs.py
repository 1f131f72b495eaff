# A stand-in for the pbs module of OpenPBS MoM hooks, enough to run
# virtcloud_hook.py outside PBS: the test sets the event through the
# environment and reads what the hook did from stdout.
import json
import os

EXECJOB_BEGIN, EXECJOB_END, EXECHOST_PERIODIC, PERIODIC, EXECJOB_LAUNCH, QUEUEJOB = 1, 2, 3, 4, 5, 6
ND_OFFLINE = "offline"
LOG_WARNING, LOG_DEBUG = 2, 3


class Reject(Exception):
    pass


class _Queue:
    def __init__(self, name):
        self.name = name


class _Vars(dict):
    def __setitem__(self, k, v):
        dict.__setitem__(self, k, v)
        _out("variable", "%s=%s" % (k, v))


class _Job:
    def __init__(self, d):
        self.id = d["id"]
        self.euser = d["euser"]
        self.queue = _Queue(d["queue"])
        # On a real MoM exec_host is None; exec_host2 and exec_vnode carry
        # the hosts.
        self.exec_host = d.get("exec_host")
        self.exec_host2 = d.get("exec_host2")
        self.exec_vnode = d.get("exec_vnode")
        self.Resource_List = {"walltime": d.get("walltime"), "vcluster": d.get("vcluster")}
        self.Variable_List = _Vars(d.get("variables", {}))
        self._ms = d["ms"]
        self.comment = None

    def in_ms_mom(self):
        return self._ms

    def delete(self):
        _out("delete", self.comment)

    def __setattr__(self, k, v):
        object.__setattr__(self, k, v)
        if k == "comment" and v is not None:
            _out("comment", v)


class _Vnode:
    def __init__(self, name):
        self.name, self.state, self.comment = name, None, None

    def __setattr__(self, k, v):
        object.__setattr__(self, k, v)
        if k == "state" and v is not None:
            _out("vnode_state", v)
        if k == "comment" and v is not None:
            _out("vnode_comment", v)


class _Event:
    def __init__(self):
        self.type = globals()[os.environ["FAKE_PBS_EVENT"]]
        d = os.environ.get("FAKE_PBS_JOB")
        self._job = _Job(json.loads(d)) if d else None
        self.vnode_list = {"nodeA": _Vnode("nodeA")}
        self.env = {}

    @property
    def job(self):
        if self._job is None:
            raise AttributeError("no job in this event")
        return self._job

    def accept(self):
        if self.env:
            _out("env", " ".join("%s=%s" % kv for kv in sorted(self.env.items())))
        _out("accept", "")
        raise SystemExit(0)

    def reject(self, msg):
        _out("reject", msg)
        raise SystemExit(0)


_event = None


def event():
    global _event
    if _event is None:
        _event = _Event()
    return _event


def get_local_nodename():
    return "nodeA"


def logmsg(level, msg):
    _out("log", msg)


def _out(what, detail):
    print(json.dumps({"do": what, "detail": detail}), flush=True)
