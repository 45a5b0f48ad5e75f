"""The job scripts in jobs/ on a real Slurm: a private one-node cluster on
localhost (slurm-up.sh / slurm-down.sh), real sbatch, srun --mpi=pmix, job
arrays, signals and requeue. Results are read back with h5py and h5diff.

    test_slurm_jobs.py jobs       # single-node, multi-node (1 node, 2 tasks), a 2-task array
    test_slurm_jobs.py preempt    # preemptible job: SIGUSR1 mid-run -> checkpoint, requeue, resume
    test_slurm_jobs.py multinode  # two nodes in network namespaces: multi-node over TCP, then
                                  # one node lost mid-run -> Slurm requeues, resume on the other

Environment: FEDHPC_BIN (the binary), FEDHPC_ROOT (the repository; default:
two levels up), FEDHPC_H5DIFF (default h5diff), FEDHPC_KEEP_TMP=1 keeps the
temporary directory (cluster logs, job logs, run directories).
Exit codes: 0 passed, 1 failed, 77 skipped (Slurm not installed, or the
binary has no checkpoints for `preempt`).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("FEDHPC_ROOT", os.path.dirname(os.path.dirname(HERE)))
BIN = os.environ.get("FEDHPC_BIN", os.path.join(ROOT, "build", "fedhpc"))
H5DIFF = os.environ.get("FEDHPC_H5DIFF", "h5diff")
SKIP = 77
DEADLINE = {"jobs": 150, "preempt": 150, "multinode": 270}  # seconds per test; ctest's TIMEOUT
# is larger, so cleanup always runs

# fedhpc on tiny settings: MLP on Fashion-MNIST, 40 clients, 8 per round.
TINY = ["--data.num_clients", "40", "--server.clients_per_round", "8", "--model.arch", "mlp",
        "--model.hidden", "32", "--client.batch_size", "16", "--run.eval_every", "2"]

T_START = time.monotonic()


class Failed(Exception):
    pass


def say(msg):
    print(f"[{time.monotonic() - T_START:6.1f}s] {msg}", flush=True)


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def run(cmd, check_rc=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)
    if check_rc and p.returncode != 0:
        raise Failed(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p


class Cluster:
    """The private cluster and a scratch tree: work/ (submit dir), results/."""

    def __init__(self, nodes=1):
        self.nodes = nodes
        self.tmp = tempfile.mkdtemp(prefix="fedhpc_slurm_")
        self.dir = os.path.join(self.tmp, "cluster")
        self.work = os.path.join(self.tmp, "work")
        self.results = os.path.join(self.tmp, "results")
        os.makedirs(self.work)
        os.makedirs(self.results)
        self.up = False
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        self.env.update(FEDHPC_ROOT=ROOT, FEDHPC_BIN=BIN, FEDHPC_RESULTS=self.results)
        if nodes > 1:
            # A lost node is declared DOWN (and its job requeued) after 10 s of silence.
            self.env.update(FEDHPC_SLURM_NODES=str(nodes), FEDHPC_SLURMD_TIMEOUT="10")

    def start(self):
        t = time.monotonic()
        p = subprocess.run(["bash", os.path.join(HERE, "slurm-up.sh"), self.dir],
                           capture_output=True, text=True, timeout=60, env=self.env)
        if p.returncode == SKIP:
            print("SKIP: " + p.stderr.strip(), flush=True)
            sys.exit(SKIP)
        self.up = p.returncode == 0 or os.path.exists(os.path.join(self.dir, "pids"))
        check(p.returncode == 0, f"slurm-up.sh failed ({p.returncode}):\n{p.stderr}")
        for m in re.finditer(r"^export (\w+)=(.*)$", p.stdout, re.M):
            self.env[m.group(1)] = m.group(2)
        self.bringup = time.monotonic() - t
        say(f"cluster up in {self.bringup:.2f}s ({p.stderr.strip()})")

    def stop(self):
        if not self.up:
            return
        env = dict(self.env)
        if os.environ.get("FEDHPC_KEEP_TMP") == "1":
            env["FEDHPC_SLURM_KEEP"] = "1"
        t = time.monotonic()
        subprocess.run(["bash", os.path.join(HERE, "slurm-down.sh"), self.dir], env=env, timeout=60)
        self.up = False
        say(f"cluster down in {time.monotonic() - t:.2f}s")

    def cleanup(self):
        self.stop()
        if os.environ.get("FEDHPC_KEEP_TMP") == "1":
            say(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def slurm(self, *cmd, check_rc=True):
        return run(list(cmd), check_rc=check_rc, env=self.env, cwd=self.work)

    def sbatch(self, *args):
        """Submits from work/; returns the job id."""
        out = self.slurm("sbatch", "--parsable", *args).stdout.strip()
        return out.split(";")[0]

    def jobs(self, jobid):
        """scontrol's records of a job (every task of an array): list of dicts."""
        p = self.slurm("scontrol", "-o", "show", "job", jobid, check_rc=False)
        recs = []
        for line in p.stdout.splitlines():
            rec = {}
            for m in re.finditer(r"(\w+)=(\S*)", line):
                rec.setdefault(m.group(1), m.group(2))
            if rec:
                recs.append(rec)
        return recs

    def wait(self, jobids, limit):
        """Waits until no job of jobids is pending, running or completing."""
        end = time.monotonic() + limit
        while True:
            q = self.slurm("squeue", "-h", "-o", "%i %T", "-j", ",".join(jobids), check_rc=False)
            if not q.stdout.strip():
                return
            if time.monotonic() > end:
                raise Failed(f"jobs still in the queue after {limit}s:\n{q.stdout}")
            time.sleep(0.25)

    def completion_log(self):
        """sacct -c (the job-completion log): {job id: (state, exit code)}."""
        p = self.slurm("sacct", "-c", "-n", "-P", "-o", "JobID,State,ExitCode", check_rc=False)
        out = {}
        for line in p.stdout.splitlines():
            f = line.split("|")
            if len(f) == 3:
                out.setdefault(f[0], []).append((f[1], f[2]))
        return out

    def log_tail(self, path, n=40):
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError as e:
            return f"({e})"

    def diagnostics(self):
        names = ["slurmctld.log"] + [f"slurmd-fedhpc-node{i}.log" for i in range(self.nodes)]
        for name in names:
            print(f"--- {name} (tail)\n" + self.log_tail(os.path.join(self.dir, "log", name), 25))
        for f in sorted(os.listdir(self.work)):
            if f.endswith(".out"):
                print(f"--- job log {f}\n" + self.log_tail(os.path.join(self.work, f)))


def seconds(rec, a, b):
    fmt = "%Y-%m-%dT%H:%M:%S"
    try:
        return time.mktime(time.strptime(rec[b], fmt)) - time.mktime(time.strptime(rec[a], fmt))
    except (KeyError, ValueError):
        return float("nan")


def is_git_checkout():
    return subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True).returncode == 0


def is_commit(sha):
    return subprocess.run(["git", "-C", ROOT, "cat-file", "-e", f"{sha}^{{commit}}"],
                          capture_output=True).returncode == 0


def check_run_dir(run_dir, rounds, ranks, seed=None):
    """The run directory of a finished job: results with every round, config, revision."""
    h5 = os.path.join(run_dir, "results.h5")
    check(os.path.isfile(h5), f"no results file {h5} (run dir holds {sorted(os.listdir(run_dir))})")
    with h5py.File(h5) as f:
        r = f["/rounds/round"][:]
        check(len(r) == rounds and np.array_equal(r, np.arange(rounds)),
              f"{h5}: /rounds/round = {r.tolist()}, expected 0..{rounds - 1}")
        check(int(f["/execution"].attrs["num_ranks"]) == ranks,
              f"{h5}: num_ranks {f['/execution'].attrs['num_ranks']}, expected {ranks}")
        if seed is not None:
            check(int(f.attrs["seed"]) == seed, f"{h5}: seed {f.attrs['seed']}, expected {seed}")
    with open(os.path.join(run_dir, "config.ini")) as f:
        ini = f.read()
    check(re.search(rf"^rounds = {rounds}$", ini, re.M), f"config.ini lacks 'rounds = {rounds}':\n{ini}")
    check(re.search(rf"^output = {re.escape(h5)}$", ini, re.M), f"config.ini lacks 'output = {h5}'")
    if seed is not None:
        check(re.search(rf"^seed = {seed}$", ini, re.M), f"config.ini lacks 'seed = {seed}'")
    with open(os.path.join(run_dir, "revision.txt")) as f:
        rev = f.read()
    if is_git_checkout():
        # HEAD when the job started (it may have moved since, in a shared checkout).
        shas = re.findall(r"git: ([0-9a-f]{40})", rev)
        check(shas and all(is_commit(x) for x in shas),
              f"revision.txt does not name a commit of {ROOT}:\n{rev}")
    check("version: fedhpc " in rev, f"revision.txt lacks the binary's version:\n{rev}")
    log = os.path.join(run_dir, "slurm.out")
    check(os.path.isfile(log), f"{log} does not point at the job's log")
    return h5


def h5diff(a, b):
    d = subprocess.run([H5DIFF, "--exclude-path", "/execution", a, b], capture_output=True, text=True)
    check(d.returncode == 0 and d.stdout.strip() == "",
          f"h5diff --exclude-path /execution {a} {b} (exit {d.returncode}):\n{d.stdout}{d.stderr}")


def test_jobs(c):
    jobs = os.path.join(ROOT, "jobs")
    cfg = os.path.join(ROOT, "configs", "default.ini")
    sweep = os.path.join(c.work, "sweep.txt")
    with open(sweep, "w") as f:
        f.write("# tiny sweep: one config, two seeds\nconfigs/default.ini " + " ".join(TINY) + "\n")
    t0 = time.monotonic()
    single = c.sbatch("--ntasks=2", "--time=5", f"{jobs}/single-node.sbatch", cfg, *TINY,
                      "--server.rounds", "3")
    multi = c.sbatch("--nodes=1", "--ntasks-per-node=2", "--time=5", f"{jobs}/multi-node.sbatch",
                     cfg, *TINY, "--server.rounds", "3")
    array = c.sbatch("--array=0-1", "--ntasks=2", "--time=5", f"{jobs}/array.sbatch", sweep,
                     "--seeds", "5,6", "--server.rounds", "2")
    say(f"submitted single-node {single}, multi-node {multi}, array {array} (tasks 0-1)")
    c.wait([single, multi, array], 120)
    say(f"all finished {time.monotonic() - t0:.1f}s after submission")

    recs = {"single-node": c.jobs(single), "multi-node": c.jobs(multi), "array": c.jobs(array)}
    check(len(recs["array"]) == 2, f"array {array}: {len(recs['array'])} task records, expected 2")
    done = c.completion_log()
    for name, rs in recs.items():
        for r in rs:
            label = name + (f" task {r['ArrayTaskId']}" if "ArrayTaskId" in r else "")
            check(r.get("JobState") == "COMPLETED" and r.get("ExitCode") == "0:0",
                  f"{label} (job {r.get('JobId')}): {r.get('JobState')} exit {r.get('ExitCode')}")
            check(("COMPLETED", "0:0") in done.get(r["JobId"], []),
                  f"sacct -c has no COMPLETED 0:0 record of job {r['JobId']}: {done.get(r['JobId'])}")
            say(f"  {label:18} job {r['JobId']:>3}: COMPLETED; queued {seconds(r, 'SubmitTime', 'StartTime'):.0f}s,"
                f" ran {seconds(r, 'StartTime', 'EndTime'):.0f}s")

    a = check_run_dir(os.path.join(c.results, f"fedhpc-single_{single}"), 3, 2)
    b = check_run_dir(os.path.join(c.results, f"fedhpc-multi_{multi}"), 3, 2)
    h5diff(a, b)  # same config and seed through both scripts: identical results
    seeds = {}
    for task, seed in ((0, 5), (1, 6)):
        seeds[seed] = check_run_dir(os.path.join(c.results, f"fedhpc-sweep_{array}_{task}"), 2, 2, seed)
    d = subprocess.run([H5DIFF, "--exclude-path", "/execution", seeds[5], seeds[6]],
                       capture_output=True, text=True)
    check(d.returncode == 1, "the two seeds of the array gave identical results")
    say("run directories: results (all rounds), config.ini, revision.txt (git commit), slurm.out: ok;"
        " single-node == multi-node (h5diff); seeds 5 != 6")


def test_preempt(c):
    jobs = os.path.join(ROOT, "jobs")
    cfg = os.path.join(ROOT, "configs", "default.ini")
    rounds = 40
    # The default optimizer (fedavg, no server state); the integration tests cover fedadam.
    args = [cfg, *TINY, "--server.rounds", str(rounds)]
    env_every = dict(c.env, FEDHPC_CHECKPOINT_EVERY="5")
    t0 = time.monotonic()
    # --time well above the script's --signal=B:USR1@300 lead, or Slurm would
    # send that warning signal as soon as it checks the job's time.
    pre = run(["sbatch", "--parsable", "--ntasks=2", "--time=30", f"{jobs}/preemptible.sbatch", *args],
              env=env_every, cwd=c.work).stdout.strip()
    ref = c.sbatch("--ntasks=2", "--time=5", f"{jobs}/single-node.sbatch", *args)
    say(f"submitted preemptible {pre} and the uninterrupted reference {ref}")
    run_dir = os.path.join(c.results, f"fedhpc-preemptible_{pre}")
    log = os.path.join(c.work, f"fedhpc-preemptible_{pre}.out")

    # Mid-run: once round 3 is reported, ask the batch shell to stop.
    end = time.monotonic() + 60
    while True:
        text = open(log, errors="replace").read() if os.path.exists(log) else ""
        m = re.findall(r"^round +(\d+)/", text, re.M)
        if m and int(m[-1]) >= 3:
            break
        check("run complete" not in text, "the preemptible run ended before it could be signalled")
        check(time.monotonic() < end, f"no 'round 3/' in {log} after 60s:\n{text}")
        time.sleep(0.1)
    c.slurm("scancel", "--signal=USR1", "--batch", pre)
    t_sig = time.monotonic()
    say(f"round {m[-1]}/{rounds} reported: sent SIGUSR1 to the batch shell (scancel --signal=USR1 --batch)")

    # The job stops after a checkpoint and requeues itself (pending, then running again).
    end = time.monotonic() + 60
    while True:
        r = c.jobs(pre)[0]
        if int(r.get("Restarts", "0")) >= 1:
            break
        check(r.get("JobState") not in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"),
              f"job {pre} ended as {r.get('JobState')} without a requeue:\n{c.log_tail(log)}")
        check(time.monotonic() < end, f"job {pre} not requeued 60s after the signal:\n{c.log_tail(log)}")
        time.sleep(0.1)
    say(f"requeued {time.monotonic() - t_sig:.1f}s after the signal (state {r.get('JobState')})")
    c.wait([pre, ref], 120)
    say(f"preemptible and reference finished {time.monotonic() - t0:.1f}s after submission")

    r = c.jobs(pre)[0]
    check(r.get("JobState") == "COMPLETED" and r.get("ExitCode") == "0:0" and r.get("Restarts") == "1",
          f"job {pre}: {r.get('JobState')} exit {r.get('ExitCode')} restarts {r.get('Restarts')}:\n"
          f"{c.log_tail(log)}")
    rr = c.jobs(ref)[0]
    check(rr.get("JobState") == "COMPLETED", f"reference job {ref}: {rr.get('JobState')}")
    say(f"  preemptible job {pre}: COMPLETED after 1 restart; last start ran {seconds(r, 'StartTime', 'EndTime'):.0f}s")
    say(f"  reference   job {ref}: COMPLETED; ran {seconds(rr, 'StartTime', 'EndTime'):.0f}s")
    states = [s for s, _ in c.completion_log().get(pre, [])]
    say(f"  sacct -c records of job {pre}: {states}")
    check("COMPLETED" in states, f"sacct -c has no COMPLETED record of job {pre}: {states}")

    text = open(log, errors="replace").read()
    for needle in ("got SIGUSR1", "fedhpc exited with code 3", "requeueing job", "start 2 of job",
                   "resuming from", "run complete"):
        check(needle in text, f"job log lacks '{needle}':\n{text}")
    # The second start continues right after the round the first one stopped at.
    first, second = text.split("fedhpc job: start 2 of job")
    r1 = [int(x) for x in re.findall(r"^round +(\d+)/", first, re.M)]
    r2 = [int(x) for x in re.findall(r"^round +(\d+)/", second, re.M)]
    check(r1 and r2 and r2[0] == r1[-1] + 1 and r2[-1] == rounds,
          f"rounds reported: first start {r1[:1]}..{r1[-1:]}, second start {r2[:1]}..{r2[-1:]}")
    say(f"  first start stopped after round {r1[-1]}, second start ran rounds {r2[0]}-{r2[-1]}")
    a = check_run_dir(run_dir, rounds, 2)
    with open(os.path.join(run_dir, "config.ini")) as f:
        check(re.search(r"^checkpoint_every = 5$", f.read(), re.M),
              "config.ini lacks checkpoint_every = 5 (FEDHPC_CHECKPOINT_EVERY)")
    check(not os.path.exists(a + ".ckpt"), "the checkpoint is still there after completion")
    with open(os.path.join(run_dir, "revision.txt")) as f:
        check(f.read().count("start ") == 2, "revision.txt should have one line per start")
    h5diff(os.path.join(c.results, f"fedhpc-single_{ref}", "results.h5"), a)
    say("stopped mid-run, requeued, resumed: all rounds, identical to the uninterrupted run (h5diff)")


def netns(c, node):
    """The network namespace of node i of a multi-node cluster (slurm-up.sh lists them in DIR/netns)."""
    with open(os.path.join(c.dir, "netns")) as f:
        names = f.read().split()
    return next(n for n in names if n.endswith(f"-n{node}"))


def veth_bytes(c, node):
    """Bytes received + sent on node i's only link to the other nodes (eth0 in its namespace)."""
    out = run(["ip", "-n", netns(c, node), "-s", "-j", "link", "show", "eth0"]).stdout
    st = json.loads(out)[0]["stats64"]
    return st["rx"]["bytes"] + st["tx"]["bytes"]


def wait_for_round(log, at_least, limit):
    """Waits until the job log reports round >= at_least; returns that round."""
    end = time.monotonic() + limit
    while True:
        text = open(log, errors="replace").read() if os.path.exists(log) else ""
        m = re.findall(r"^round +(\d+)/", text, re.M)
        if m and int(m[-1]) >= at_least:
            return int(m[-1])
        check("run complete" not in text, f"the run in {log} ended before round {at_least}")
        check(time.monotonic() < end, f"no 'round {at_least}/' in {log} after {limit}s:\n{text}")
        time.sleep(0.1)


def test_multinode(c):
    jobs = os.path.join(ROOT, "jobs")
    cfg = os.path.join(ROOT, "configs", "default.ini")
    # 1. multi-node.sbatch on both nodes (one rank each): Open MPI over TCP
    # between the namespaces, results identical to 2 ranks on one node.
    args = [cfg, *TINY, "--server.rounds", "3"]
    before = [veth_bytes(c, i) for i in range(2)]
    multi = c.sbatch("--nodes=2", "--ntasks-per-node=1", "--time=5", f"{jobs}/multi-node.sbatch", *args)
    single = c.sbatch("--nodes=1", "--ntasks=2", "--time=5", f"{jobs}/single-node.sbatch", *args)
    say(f"submitted multi-node {multi} (2 nodes x 1 rank) and single-node {single} (1 node x 2 ranks)")
    c.wait([multi, single], 90)
    traffic = [veth_bytes(c, i) - b for i, b in enumerate(before)]
    r = c.jobs(multi)[0]
    check(r.get("JobState") == "COMPLETED" and r.get("NodeList") == "fedhpc-node[0-1]",
          f"multi-node job {multi}: {r.get('JobState')} on {r.get('NodeList')}")
    a = check_run_dir(os.path.join(c.results, f"fedhpc-multi_{multi}"), 3, 2)
    b = check_run_dir(os.path.join(c.results, f"fedhpc-single_{single}"), 3, 2)
    h5diff(a, b)
    # Each round moves the model (25,818 floats) between the ranks and back: >= 3 x 2 x 100 KB.
    check(min(traffic) > 600_000, f"bytes on the nodes' links during the jobs: {traffic} (no TCP between nodes?)")
    say(f"multi-node over TCP: {traffic[0] / 1e6:.1f} MB / {traffic[1] / 1e6:.1f} MB on node0/node1's link;"
        " identical to the one-node run (h5diff)")

    # 2. A node lost mid-run: the preemptible script with checkpoints every 2
    # rounds on both nodes; all of node1's processes (slurmd, slurmstepd, its
    # rank) are killed. Slurm declares the node down, ends the job and requeues
    # it; it resumes on node0 and ends identical to an uninterrupted run.
    rounds = 12
    args = [cfg, "--data.num_clients", "40", "--server.clients_per_round", "8", "--client.batch_size", "16",
            "--run.eval_every", "4", "--server.rounds", str(rounds)]
    env = dict(c.env, FEDHPC_CHECKPOINT_EVERY="2")
    pre = run(["sbatch", "--parsable", "--nodes=1-2", "--ntasks=2", "--spread-job", "--time=30",
               f"{jobs}/preemptible.sbatch", *args], env=env, cwd=c.work).stdout.strip()
    # The uninterrupted reference, meanwhile, on the node that stays.
    ref = c.sbatch("--nodelist=fedhpc-node0", "--ntasks=2", "--time=5", f"{jobs}/single-node.sbatch", *args)
    say(f"submitted preemptible {pre} (--nodes=1-2 --ntasks=2 --spread-job, LeNet-5, {rounds} rounds)"
        f" and its reference {ref} on node0")
    log = os.path.join(c.work, f"fedhpc-preemptible_{pre}.out")
    at = wait_for_round(log, 4, 90)
    r = c.jobs(pre)[0]
    check(r.get("NodeList") == "fedhpc-node[0-1]", f"job {pre} runs on {r.get('NodeList')}, not on both nodes")
    victims = run(["ip", "netns", "pids", netns(c, 1)]).stdout.split()
    names = sorted({open(f"/proc/{p}/comm").read().strip() for p in victims if os.path.exists(f"/proc/{p}")})
    run(["kill", "-KILL", *victims])
    t_kill = time.monotonic()
    say(f"round {at}/{rounds} reported: killed node1 ({len(victims)} processes: {', '.join(names)})")
    end = t_kill + 90
    while True:
        r = c.jobs(pre)[0]
        if int(r.get("Restarts", "0")) >= 1:
            break
        check(r.get("JobState") not in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"),
              f"job {pre} ended as {r.get('JobState')} without a requeue:\n{c.log_tail(log)}")
        check(time.monotonic() < end, f"job {pre} not requeued 90s after the node died:\n{c.log_tail(log)}")
        time.sleep(0.25)
    t_requeue = time.monotonic() - t_kill
    state = c.slurm("sinfo", "-h", "-n", "fedhpc-node1", "-o", "%t").stdout.strip()
    check(state.startswith("down"), f"node1 is '{state}' after it died, expected down")
    say(f"Slurm declared node1 {state} and requeued job {pre} {t_requeue:.1f}s after the kill")
    c.wait([pre], 120)
    r = c.jobs(pre)[0]
    check(r.get("JobState") == "COMPLETED" and r.get("Restarts") == "1" and r.get("NodeList") == "fedhpc-node0",
          f"job {pre}: {r.get('JobState')} restarts {r.get('Restarts')} on {r.get('NodeList')}:\n{c.log_tail(log)}")
    text = open(log, errors="replace").read()
    for needle in ("Node failure on fedhpc-node1", "start 2 of job", "on fedhpc-node0;", "resuming from",
                   "run complete"):
        check(needle in text, f"job log lacks '{needle}':\n{text}")
    second = text.split("fedhpc job: start 2 of job")[1]
    r2 = [int(x) for x in re.findall(r"^round +(\d+)/", second, re.M)]
    check(r2 and r2[0] <= at + 1 and r2[0] >= at - 2 and r2[-1] == rounds,
          f"second start ran rounds {r2[:1]}..{r2[-1:]} after the loss at round {at} (checkpoints every 2)")
    say(f"  second start (node0 only) resumed at round {r2[0]} and ran to {r2[-1]}")
    a = check_run_dir(os.path.join(c.results, f"fedhpc-preemptible_{pre}"), rounds, 2)
    c.wait([ref], 60)
    h5diff(os.path.join(c.results, f"fedhpc-single_{ref}", "results.h5"), a)
    say("node lost mid-run: requeued by Slurm, resumed on the remaining node, identical to the uninterrupted run")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "jobs"
    tests = {"jobs": test_jobs, "preempt": test_preempt, "multinode": test_multinode}
    if mode not in tests:
        print(f"usage: {sys.argv[0]} {'|'.join(tests)}", file=sys.stderr)
        return 2
    check_tools = [t for t in ("sbatch", "slurmctld", "slurmd", "munged") if not shutil.which(t)]
    if check_tools:
        print(f"SKIP: not installed: {' '.join(check_tools)} (apt-get install slurm-wlm munge;"
              " scripts/install-deps.sh does it)", flush=True)
        return SKIP
    if not os.access(BIN, os.X_OK):
        print(f"FAIL: no fedhpc binary at {BIN} (set FEDHPC_BIN)", flush=True)
        return 1

    if mode == "multinode" and not shutil.which("ip"):
        print("SKIP: no 'ip' (iproute2) for network namespaces (scripts/install-deps.sh installs it)", flush=True)
        return SKIP
    if mode == "preempt" and "run.checkpoint_every" not in run([BIN, "--help"]).stdout:
        print(f"SKIP: {BIN} has no checkpoints (run.checkpoint_every is not in its --help)", flush=True)
        return SKIP

    c = Cluster(nodes=2 if mode == "multinode" else 1)

    def on_alarm(*_):
        raise Failed(f"test took longer than {DEADLINE[mode]}s")

    def on_term(signum, _):
        raise Failed(f"stopped by signal {signum}")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(DEADLINE[mode])
    rc = 1
    try:
        c.start()
        tests[mode](c)
        rc = 0
    except Failed as e:
        print(f"FAIL: {e}", flush=True)
        c.diagnostics()
    finally:
        signal.alarm(0)
        c.cleanup()
    say("passed" if rc == 0 else "failed")
    return rc


if __name__ == "__main__":
    sys.exit(main())
