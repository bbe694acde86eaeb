"""A one-node Slurm cluster on this machine, for tests (docs/scale-out.md "Testing").

slurmctld and slurmd on 127.0.0.1 (NodeName localhost), munged with a key made from random
bytes, all state, sockets and logs under one temporary folder, ports picked free. Needs root
(slurmd runs jobs as the submitting user; munged runs as the `munge` user) and the Debian 12
packages slurm-wlm and munge (deploy/install-deps.sh).

    with SlurmCluster(workdir) as cluster:
        subprocess.run(["sbatch", ...], env=cluster.env)
"""

import os
import pwd
import shutil
import socket
import subprocess
import time

REQUIRED = ["slurmctld", "slurmd", "munged", "sbatch", "squeue", "scontrol", "scancel"]


def missing_programs():
    """The programs of slurm-wlm and munge that are not installed."""
    paths = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [p for p in REQUIRED if shutil.which(p, path=paths) is None]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _which(p):
    return shutil.which(p, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


class SlurmCluster:
    """Starts munged, slurmctld and slurmd; stop() (or leaving the `with`) stops them."""

    def __init__(self, workdir, cpus=2):
        self.dir = os.path.abspath(workdir)
        self.cpus = cpus
        self.procs = []
        self.env = dict(os.environ)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def start(self):
        d = self.dir
        munge = pwd.getpwnam("munge")
        # munged runs as `munge`: it must reach its folder (mkdtemp makes 0700 folders).
        os.makedirs(d, exist_ok=True)
        for p in (os.path.dirname(d), d):
            os.chmod(p, os.stat(p).st_mode | 0o755)
        mdir = os.path.join(d, "munge")
        os.makedirs(mdir, exist_ok=True)
        key = os.path.join(mdir, "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        os.chmod(mdir, 0o755)
        for p in (mdir, key):
            os.chown(p, munge.pw_uid, munge.pw_gid)
        self.munge_socket = os.path.join(mdir, "munge.socket")
        subprocess.run(
            ["runuser", "-u", "munge", "--", _which("munged"), "--key-file", key,
             "--socket", self.munge_socket, "--pid-file", os.path.join(mdir, "munged.pid"),
             "--log-file", os.path.join(mdir, "munged.log"),
             "--seed-file", os.path.join(mdir, "munged.seed")],
            check=True, timeout=30)
        self.munge_pid_file = os.path.join(mdir, "munged.pid")
        for sub in ("state", "spool", "logs"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        ctld_port, d_port = _free_port(), _free_port()
        conf = os.path.join(d, "slurm.conf")
        mem_mb = 1024
        with open(conf, "w") as f:
            f.write(f"""ClusterName=fixmine-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool/%n
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/logs/slurmctld.log
SlurmdLogFile={d}/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=300
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
        self.env["SLURM_CONF"] = conf
        self.conf = conf
        # -i: start clean (no state from an earlier run); -D: stay in the foreground, so the
        # test owns the process and can stop it by its id.
        for name, argv in (("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", conf]),
                           ("slurmd", [_which("slurmd"), "-D", "-N", "localhost", "-f", conf])):
            with open(os.path.join(d, "logs", name + ".err"), "w") as err:
                self.procs.append(subprocess.Popen(argv, env=self.env,
                                                   stdout=subprocess.DEVNULL, stderr=err))
        deadline = time.time() + 60
        while time.time() < deadline:
            r = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True,
                               text=True, timeout=20)
            if r.returncode == 0 and r.stdout.strip() in ("idle", "mix", "alloc"):
                return
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError("a Slurm daemon exited: " + self.log("logs/slurmctld.log")
                                       + self.log("logs/slurmd.log")
                                       + self.log("logs/slurmctld.err")
                                       + self.log("logs/slurmd.err"))
            time.sleep(0.5)
        raise RuntimeError("the Slurm node did not become idle in 60 s: "
                           + self.log("logs/slurmctld.log") + self.log("logs/slurmd.log"))

    def wait_idle(self, timeout):
        """Waits until no job is queued or running; False after `timeout` seconds."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = subprocess.run(["squeue", "-h", "-o", "%i %t"], env=self.env,
                               capture_output=True, text=True, timeout=20)
            if r.returncode == 0 and not r.stdout.strip():
                return True
            time.sleep(0.5)
        return False

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        self.procs = []
        try:
            with open(self.munge_pid_file) as f:
                pid = int(f.read().strip())
            os.kill(pid, 15)
        except (OSError, ValueError, AttributeError):
            pass
