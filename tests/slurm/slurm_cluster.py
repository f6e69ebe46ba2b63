"""A private one-node Slurm on localhost for tests: munged, slurmctld and slurmd run in the
foreground as children of this process (so their PIDs are known and they are stopped by PID),
with every key, socket, state and log file in one temporary directory. Needs Debian's
slurm-wlm and munge, and root (SlurmUser=root); see /work/shared/platform.md for why each
slurm.conf setting is what it is.

    with LocalSlurm() as slurm:
        job = slurm.sbatch(["script.sbatch", "arg"], cwd=directory)
        slurm.wait_for(job, {"COMPLETED"})
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "srun")


def available():
    """None when a private Slurm can run here, else the reason it cannot."""
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    if missing:
        return "not installed: " + ", ".join(missing) + " (Debian packages slurm-wlm and munge)"
    if os.geteuid() != 0:
        return "the private Slurm runs its daemons as root (SlurmUser=root)"
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_line():
    """slurmd -C describes this machine; only the NodeName line is used."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if line.startswith("NodeName="))


class LocalSlurm:
    def __init__(self, root=None, keep=False, nodes=1):
        """nodes=2 runs two slurmd on this host as nodes n1 and n2 (own ports and spool
        directories, as /work/shared/platform.md describes), each with this machine's CPUs."""
        self.root = Path(root or tempfile.mkdtemp(prefix="msweep-slurm-"))
        self.keep = keep
        self.nodes = nodes
        self.processes = []  # (name, Popen), started in order, stopped in reverse
        self.conf = self.root / "slurm.conf"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))
        self._requeued_since = {}

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _spawn(self, name, command):
        log = open(self.root / f"{name}.stdout", "wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        log.close()
        self.processes.append((name, process))
        return process

    def _wait(self, what, predicate, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode} while waiting for {what}; see {self.root}")
            if predicate():
                return
            time.sleep(0.1)
        raise TimeoutError(f"{what} not reached within {timeout} s; logs in {self.root}")

    def start(self):
        reason = available()
        if reason:
            raise RuntimeError(reason)
        for sub in ("state", "spool", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        munge_socket = self.root / "munge" / "munge.socket"
        self._spawn("munged", ["munged", "--foreground", "--force", f"--key-file={key}", f"--socket={munge_socket}",
                               f"--pid-file={self.root / 'munge' / 'munged.pid'}", f"--log-file={self.root / 'munged.log'}",
                               f"--seed-file={self.root / 'munge' / 'munged.seed'}"])
        self._wait("the munge socket", munge_socket.exists)

        hostname = socket.gethostname()
        node = _node_line()
        if self.nodes == 1:
            node_names, node_lines = [node.split()[0].split("=")[1]], f"{node} State=UNKNOWN"
            slurmd_paths = (f"SlurmdSpoolDir={self.root / 'spool'}\nSlurmdPidFile={self.root / 'slurmd.pid'}\n"
                            f"SlurmdLogFile={self.root / 'slurmd.log'}")
        else:
            # Several slurmd on one host: each its own name, port and (via %n) spool, pid, log
            # and TmpFS paths; otherwise PMIx steps on the second node fail with "File exists".
            node_names = [f"n{i + 1}" for i in range(self.nodes)]
            hardware = node.split(None, 1)[1]
            node_lines = "\n".join(f"NodeName={name} NodeHostname={hostname} NodeAddr=127.0.0.1 Port={_free_port()} {hardware} State=UNKNOWN"
                                   for name in node_names)
            slurmd_paths = (f"SlurmdSpoolDir={self.root / 'spool'}%n\nSlurmdPidFile={self.root / 'slurmd'}.%n.pid\n"
                            f"SlurmdLogFile={self.root / 'slurmd'}.%n.log\nTmpFS={self.root / 'tmp'}/%n")
            for name in node_names:
                (self.root / "tmp" / name).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(f"""# Private test cluster (tests/slurm/slurm_cluster.py); settings from /work/shared/platform.md.
ClusterName=msweeptest
SlurmctldHost={hostname}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
StateSaveLocation={self.root / 'state'}
SlurmctldPidFile={self.root / 'slurmctld.pid'}
SlurmctldLogFile={self.root / 'slurmctld.log'}
{slurmd_paths}
ReturnToService=2
# Jobs stay visible to `scontrol show job` for 10 minutes after they end (no slurmdbd here).
MinJobAge=600
KillWait=10
SchedulerParameters=sched_interval=1
# Preemption as a cluster with a high-priority partition has it: a job of partition `urgent`
# (higher PriorityTier) that needs the node requeues the jobs of `test` running there.
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
{node_lines}
PartitionName=test Nodes={",".join(node_names)} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO PriorityTier=1
PartitionName=urgent Nodes={",".join(node_names)} MaxTime=INFINITE State=UP OverSubscribe=NO PriorityTier=10
""")
        self._spawn("slurmctld", ["slurmctld", "-D", "-c", "-f", str(self.conf)])
        if self.nodes == 1:
            self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        else:
            for name in node_names:
                (self.root / f"spool{name}").mkdir(exist_ok=True)
                self._spawn(f"slurmd-{name}", ["slurmd", "-D", "-f", str(self.conf), "-N", name])
        # sinfo -N lists a node once per partition: count the idle nodes by name.
        self._wait("idle nodes", lambda: len({line.split()[0] for line in self.command(["sinfo", "-h", "-N", "-o", "%N %T"], check=False)
                                              .stdout.splitlines() if line.split()[1:] == ["idle"]}) == self.nodes)

    def stop(self):
        """Cancels every job, then stops the daemons by PID (SIGTERM, then SIGKILL)."""
        if any(name == "slurmctld" and p.poll() is None for name, p in self.processes):
            self.command(["scancel", "--full", "--user=root"], check=False)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.command(["squeue", "-h"], check=False).stdout.strip():
                time.sleep(0.2)
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    # ---------------------------------------------------------------- clients

    def command(self, args, check=True, cwd=None, env=None):
        result = subprocess.run(args, capture_output=True, text=True, env=dict(self.env, **(env or {})), cwd=cwd, timeout=60)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, args))}: exit {result.returncode}: {result.stderr.strip()}")
        return result

    def sbatch(self, args, cwd, env=None):
        """Submits and returns the job id (never --wait: it polls at 2, 10, 42, 74 s)."""
        out = self.command(["sbatch", "--parsable"] + [str(a) for a in args], cwd=cwd, env=env).stdout.strip()
        return out.split(";")[0]

    def job(self, job_id):
        """`scontrol show job` fields as a dict ({} once the job is forgotten). For an array job
        id, a dict per array task keyed by the task's own job id."""
        out = self.command(["scontrol", "-o", "show", "job", str(job_id)], check=False).stdout
        jobs = []
        for line in out.splitlines():
            fields = {}
            for item in line.split():
                key, _, value = item.partition("=")
                fields[key] = value
            if fields:
                jobs.append(fields)
        return jobs

    def state(self, job_id):
        jobs = self.job(job_id)
        return jobs[0] if len(jobs) == 1 else (jobs or [{}])[0]

    def release_if_requeued(self, job_id, jobs=None):
        """A requeued job waits ~2 minutes (BeginTime) before it may start again; tests cannot
        afford that, so it is made eligible at once."""
        for j in jobs if jobs is not None else self.job(job_id):
            if j.get("JobState") == "PENDING" and j.get("Reason") == "BeginTime":
                # Released 5 s after the requeue, not at once: slurmd is still tearing down the
                # previous start then, and a step launched meanwhile is aborted with it.
                first_seen = self._requeued_since.setdefault((j["JobId"], j.get("Restarts")), time.monotonic())
                if time.monotonic() - first_seen >= 5:
                    self.command(["scontrol", "update", f"JobId={j['JobId']}", "StartTime=now"], check=False)

    def wait_for(self, job_id, states, timeout=300, release_requeued=True):
        """Polls until every job (or array task) of job_id is in one of `states`. A requeued
        job waits ~2 minutes before it may start again: it is released at once, as tests
        cannot afford the delay (`scontrol update StartTime=now`)."""
        deadline = time.monotonic() + timeout
        terminal = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}
        while time.monotonic() < deadline:
            jobs = self.job(job_id)
            if jobs and all(j.get("JobState") in states for j in jobs):
                return jobs
            if release_requeued:
                self.release_if_requeued(job_id, jobs)
            for j in jobs:
                if j.get("JobState") in terminal - set(states):
                    raise AssertionError(f"job {j['JobId']} ended {j.get('JobState')} (exit {j.get('ExitCode')}); logs in {self.root}")
            time.sleep(0.5)
        raise TimeoutError(f"job {job_id} not in {states} after {timeout} s: {self.job(job_id)}")
