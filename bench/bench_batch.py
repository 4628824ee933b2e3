"""`workbench batch` on 2 workers against the same batch on 1 worker (sequential), same run.

The batch is N runs of the demo notebooks (the params files in params/demo, repeated with
distinct run ids), with PDF and HTML. Both sides go through the same code path; the only
difference is the number of dask workers, so the ratio is what fanning out buys.  Both write to
the same reports folder with --force, as a nightly batch re-run does: the sequential side goes
first, so the 2-worker side finds last run's durations and hands out the longest runs first
(run order cannot change a 1-worker batch).  Sides alternate for `--rounds` rounds and each
keeps its best time, so a burst of load on the machine hits both alike; the two-pipelines ceiling
is measured in every round too, next to the batches held against it (a ceiling measured once, in
a slow quarter of an hour, made the share swing by 10 points).

With ``--dask-defaults`` a fourth side runs the 2-worker batch with its local cluster on dask's
own settings (profiler, work stealing, fast monitors), as before ``batch.LOCAL_CLUSTER_CONFIG``.

Both sides fork each run's kernel from a process per worker that imported pandas, scipy,
matplotlib and the workbench once (`workbench.forkserver`), while the run before exports
(`workbench.kernels`).  Two more 2-worker sides give the throughput gained: with
`WORKBENCH_FORK_KERNELS=0` (warm kernels that start and import while the run before exports, as
before forking) and, with ``--cold``, `WORKBENCH_WARM_KERNELS=0` (each run starts its kernel when
it starts).

For scale, the same run measures what this machine gives two processes at all, without dask:
a pure-Python CPU loop in 2 processes against 1 ("CPU loop"), and two independent pipelines of
`workbench run` commands at once against the same commands one after the other ("two
pipelines"; each command its own process, kernel and Chromium, nothing shared).  The second is
the ceiling for this workload: the batch cannot beat two runs that share nothing.  The run
slowdown compares the mean seconds of one run when two run at once with one run alone.

    python bench/bench_batch.py [--quick] [--runs N] [--rounds R] [--json PATH]

Target: the 2-worker batch reaches >= 90% of the two-pipelines ceiling measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET = 0.90  # share of the two-pipelines ceiling


def make_batch(folder: Path, runs: int) -> list[Path]:
    sources = sorted((ROOT / "params" / "demo").glob("*.yaml"))
    if not sources:
        raise SystemExit("no params files in params/demo")
    files = []
    for i in range(runs):
        src = sources[i % len(sources)]
        data = yaml.safe_load(src.read_text())
        data["run"] = f"{src.stem}-{i:02d}"
        f = folder / f"{i:02d}_{src.name}"
        f.write_text(yaml.safe_dump(data, allow_unicode=True))
        files.append(f)
    return files


#: The local cluster on dask's own settings (as before `batch.LOCAL_CLUSTER_CONFIG`) but for the
#: one run per worker at a time that the batch needs.
DASK_DEFAULTS = {"distributed.scheduler.worker-saturation": 1.0}
#: `workbench batch` with its local cluster on :data:`DASK_DEFAULTS`.
_BATCH_ON_DASK_DEFAULTS = ("import sys, workbench.batch as b; "
                           f"b.LOCAL_CLUSTER_CONFIG = {DASK_DEFAULTS!r}; "
                           "from workbench.cli import main; sys.exit(main(sys.argv[1:]))")


KERNELS = {"forked": {"WORKBENCH_WARM_KERNELS": "1", "WORKBENCH_FORK_KERNELS": "1"},
           "warm": {"WORKBENCH_WARM_KERNELS": "1", "WORKBENCH_FORK_KERNELS": "0"},
           "cold": {"WORKBENCH_WARM_KERNELS": "0", "WORKBENCH_FORK_KERNELS": "0"}}


def batch(pattern: str, out: Path, workers: int, log: Path, *, kernels: str = "forked",
          dask_defaults: bool = False) -> tuple[float, list[float]]:
    """Wall seconds of one `workbench batch`, and the seconds of each of its runs."""
    log.unlink(missing_ok=True)
    env = {**os.environ, **KERNELS[kernels]}
    cmd = [sys.executable, "-c", _BATCH_ON_DASK_DEFAULTS] if dask_defaults else [str(BIN / "workbench")]
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, "batch", pattern, "--out", str(out), "--workers", str(workers),
                           "--force", "--no-progress", "--log", str(log)], capture_output=True, text=True, env=env)
    if proc.returncode:  # say which runs failed and why, then stop: a timing of a failed batch means nothing
        failed = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []
        failed = [f"{r['params_file']}: {r.get('error')}" for r in failed if r.get("status") != "ok"]
        raise SystemExit(f"workbench batch ({workers} workers, {kernels} kernels) "
                         f"exited {proc.returncode}:\n" + "\n".join(failed or [proc.stdout[-3000:], proc.stderr[-3000:]]))
    wall = time.perf_counter() - t0
    runs = [json.loads(line)["seconds"] for line in log.read_text().splitlines() if line.strip()]
    return wall, runs


# -- the machine's own ceiling ----------------------------------------------------------------
def _spin(n: int = 4_000_000) -> int:
    s = 0
    for i in range(n):
        s += i * i
    return s


def _procs(k: int) -> float:
    t0 = time.perf_counter()
    ps = [mp.Process(target=_spin) for _ in range(k)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    return time.perf_counter() - t0


def machine_ceiling(repeat: int = 3) -> float:
    """Throughput of a CPU loop in 2 processes relative to 1 (best of ``repeat`` each)."""
    one, two = [], []
    for _ in range(repeat):
        one.append(_procs(1))
        two.append(_procs(2))
    return 2 * min(one) / min(two)


def _cluster_idle_cpu(config: dict, seconds: float = 20.0) -> float:
    """CPU-seconds per second that the idle 2-worker local cluster `workbench batch` starts
    (scheduler, nannies, workers) uses with the dask ``config`` given."""
    import psutil

    from workbench import batch as wb_batch

    def cpu() -> float:
        procs = [psutil.Process(), *psutil.Process().children(recursive=True)]
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system
        return total

    ours, wb_batch.LOCAL_CLUSTER_CONFIG = wb_batch.LOCAL_CLUSTER_CONFIG, config
    try:
        client, cluster = wb_batch._client(None, 2)
    finally:
        wb_batch.LOCAL_CLUSTER_CONFIG = ours
    try:
        time.sleep(3)  # started and registered
        t0, c0 = time.perf_counter(), cpu()
        time.sleep(seconds)
        return (cpu() - c0) / (time.perf_counter() - t0)
    finally:
        client.close()
        cluster.close()


def _pipeline(files, out: Path) -> subprocess.Popen:
    cmds = [[str(BIN / "workbench"), "run", "-f", str(f), "--out", str(out)] for f in files]
    script = "set -e\n" + "\n".join(shlex.join(c) + " >/dev/null" for c in cmds)
    return subprocess.Popen(["bash", "-c", script])


def pipelines_ceiling(files, out: Path) -> tuple[float, float]:
    """(one after the other, two at once): seconds for the same `workbench run` commands.

    The pipelines take alternate files (each gets the same mix of notebooks).
    """
    halves = (files[0::2], files[1::2])
    t0 = time.perf_counter()
    for part in halves:
        if _pipeline(part, out).wait():
            raise SystemExit("workbench run failed in the pipelines ceiling")
    alone = time.perf_counter() - t0
    t0 = time.perf_counter()
    procs = [_pipeline(part, out) for part in halves]
    if any(p.wait() for p in procs):
        raise SystemExit("workbench run failed in the pipelines ceiling")
    return alone, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 runs, one round")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--pipelines", type=int, default=None,
                    help="runs in the two-pipelines ceiling (default: one per demo params file, the "
                         "batch's mix; 4 with --quick; 0 = skip)")
    ap.add_argument("--dask-defaults", action="store_true",
                    help="a fourth side: 2 workers with the local cluster on dask's own settings")
    ap.add_argument("--cold", action="store_true",
                    help="one more side: 2 workers with cold kernels (WORKBENCH_WARM_KERNELS=0)")
    ap.add_argument("--json", type=Path, help="also write the JSON result to this file")
    args = ap.parse_args(argv)
    runs = args.runs or (8 if args.quick else 20)
    kinds = len(list((ROOT / "params" / "demo").glob("*.yaml")))
    n_pipe = args.pipelines if args.pipelines is not None else (4 if args.quick else kinds)
    n_pipe = min(n_pipe, runs) // 2 * 2
    rounds = args.rounds or (1 if args.quick else 2)
    with tempfile.TemporaryDirectory(prefix="cxwb-batch-") as tmp:
        work = Path(tmp)
        (work / "params").mkdir()
        files = make_batch(work / "params", runs)
        pattern = str(work / "params" / "*.yaml")
        subprocess.run([str(BIN / "workbench"), "demo", "--formats", "html", "--params-dir",
                        str(ROOT / "params" / "demo"), "--out", str(work / "warm")],
                       check=True, capture_output=True)  # demo data and caches warm for both sides
        ceiling = machine_ceiling()
        from workbench.batch import LOCAL_CLUSTER_CONFIG

        idle_default = _cluster_idle_cpu(DASK_DEFAULTS)
        idle_ours = _cluster_idle_cpu(LOCAL_CLUSTER_CONFIG)
        seq, par, warm, cold, dflt, pipes = [], [], [], [], [], []
        for _ in range(rounds):  # each round measures the ceiling next to the batch it is held against
            if n_pipe:
                pipes.append(pipelines_ceiling(files[:n_pipe], work / "pipelines"))
            seq.append(batch(pattern, work / "reports", 1, work / "seq.jsonl"))
            par.append(batch(pattern, work / "reports", 2, work / "par.jsonl"))
            warm.append(batch(pattern, work / "reports", 2, work / "warm.jsonl", kernels="warm"))
            if args.cold:
                cold.append(batch(pattern, work / "reports", 2, work / "cold.jsonl", kernels="cold"))
            if args.dask_defaults:
                dflt.append(batch(pattern, work / "reports", 2, work / "dflt.jsonl", dask_defaults=True))
    (t_seq, runs_seq), (t_par, runs_par), (t_warm, _) = min(seq), min(par), min(warm)
    t_cold = min(cold)[0] if cold else None
    t_dflt = min(dflt)[0] if dflt else None
    ratio = t_seq / t_par
    slowdown = statistics.mean(runs_par) / statistics.mean(runs_seq)
    pipe = (min(a for a, _ in pipes), min(b for _, b in pipes)) if pipes else None
    pipe_ratio = pipe[0] / pipe[1] if pipe else float("nan")
    # the same share within each round (ceiling and batch measured minutes apart, not a round apart)
    round_shares = [(s[0] / p[0]) / (a / b) for s, p, (a, b) in zip(seq, par, pipes)]
    share = ratio / pipe_ratio if pipe else float("nan")
    per_run, per_pipe = t_par / runs, (pipe[1] / n_pipe if pipe else None)
    result = {"runs": runs, "rounds": rounds, "sequential_s": round(t_seq, 1), "two_workers_s": round(t_par, 1),
              "two_workers_warm_kernels_s": round(t_warm, 1), "forked_vs_warm_throughput": round(t_warm / t_par, 2),
              "two_workers_cold_kernels_s": round(t_cold, 1) if cold else None,
              "forked_vs_cold_throughput": round(t_cold / t_par, 2) if cold else None,
              "ratio": round(ratio, 2), "cpu_loop_ceiling": round(ceiling, 2),
              "pipelines_ceiling": round(pipe_ratio, 2), "pipelines_runs": n_pipe,
              "pipelines_s": [round(x, 1) for x in pipe] if pipe else None,
              "all_pipelines_s": [[round(x, 1) for x in p] for p in pipes],
              "of_pipelines_ceiling_by_round": [round(x, 2) for x in round_shares],
              "of_pipelines_ceiling": round(share, 2) if pipe else None,
              "run_slowdown": round(slowdown, 2),
              "all_sequential_s": [round(s[0], 1) for s in seq], "all_two_workers_s": [round(p[0], 1) for p in par],
              "all_two_workers_warm_s": [round(c[0], 1) for c in warm],
              "all_two_workers_cold_s": [round(c[0], 1) for c in cold],
              "two_workers_dask_defaults_s": round(t_dflt, 1) if dflt else None,
              "seconds_per_run": {"two_workers": round(per_run, 2),
                                  "two_pipelines_at_once": round(per_pipe, 2) if pipe else None},
              "idle_cluster_cpu_per_s": {"dask_defaults": round(idle_default, 3), "workbench": round(idle_ours, 3)},
              "target": TARGET, "pass": bool(pipe) and share >= TARGET}
    print("| benchmark | runs | 1 worker (s) | 2 workers (s) | ratio | of the pipelines ceiling | run slowdown | target | pass |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| workbench batch, PDF + HTML, forked kernels (best of {rounds}) | {runs} | {t_seq:.1f} | {t_par:.1f} | "
          f"{ratio:.2f}x | {f'{share:.0%}' if pipe else 'not measured'} | {slowdown:.2f}x | >= {TARGET:.0%} of the ceiling | "
          f"{'yes' if result['pass'] else 'no'} |")
    print()
    print("Kernels forked from a pre-imported process against warm kernels (started and imported while the "
          "run before exports)" + (" and cold ones (each run starts its kernel when it starts)" if cold else "")
          + ", same run:")
    print()
    print("| 2 workers | batch (s) | throughput (runs/min) | forked kernels' throughput against it |")
    print("|---|---|---|---|")
    if cold:
        print(f"| cold kernels (`WORKBENCH_WARM_KERNELS=0`) | {t_cold:.1f} | {60 * runs / t_cold:.1f} | "
              f"{t_cold / t_par:.2f}x |")
    print(f"| warm kernels (`WORKBENCH_FORK_KERNELS=0`, as before forking) | {t_warm:.1f} | {60 * runs / t_warm:.1f} | "
          f"{t_warm / t_par:.2f}x |")
    print(f"| forked kernels | {t_par:.1f} | {60 * runs / t_par:.1f} | - |")
    if dflt:
        print(f"| forked kernels, local cluster on dask's own settings (before `LOCAL_CLUSTER_CONFIG`) | "
              f"{t_dflt:.1f} | {60 * runs / t_dflt:.1f} | {t_dflt / t_par:.2f}x |")
    print()
    if pipe:
        print(f"Seconds per run: two independent pipelines at once {per_pipe:.1f} s, the 2-worker "
              f"batch {per_run:.1f} s ({per_pipe / per_run:.2f}x their throughput: the "
              f"batch keeps each worker's Chromium and imports and overlaps a run's export with the next "
              f"kernel's start).")
        print()
    print("What this machine gives two processes, same run (no dask):")
    print()
    print("| ceiling | one after the other (s) | two at once (s) | ratio | batch as share of it |")
    print("|---|---|---|---|---|")
    if pipe:
        print(f"| two `workbench run` pipelines, {n_pipe} runs | {pipe[0]:.1f} | {pipe[1]:.1f} | "
              f"{pipe_ratio:.2f}x | {ratio / pipe_ratio:.0%} |")
    print(f"| pure-Python CPU loop | - | - | {ceiling:.2f}x | {ratio / ceiling:.0%} |")
    print()
    print("An idle 2-worker local cluster (scheduler, nannies, workers), CPU-seconds per second, same run:")
    print()
    print("| dask defaults | workbench batch's settings (`batch.LOCAL_CLUSTER_CONFIG`) |")
    print("|---|---|")
    print(f"| {idle_default:.3f} | {idle_ours:.3f} |")
    print()
    print(f"_All rounds: 1 worker {result['all_sequential_s']} s, 2 workers {result['all_two_workers_s']} s, "
          f"2 workers with warm kernels {result['all_two_workers_warm_s']} s"
          + (f", 2 workers with cold kernels {result['all_two_workers_cold_s']} s" if cold else "")
          + (f", 2 workers on dask's settings {[round(d[0], 1) for d in dflt]} s" if dflt else "")
          + (f", two pipelines (one after the other, at once) {result['all_pipelines_s']} s; share of the "
             f"ceiling within each round {[f'{x:.0%}' for x in round_shares]}" if pipes else "") + "._")
    print()
    print((f"The ceiling is what this machine gives two report pipelines that share nothing "
           f"({pipe_ratio:.2f}x). " if pipe else "") + f"Each run takes {slowdown:.2f}x as long when two run at once, while a pure "
          f"CPU loop scales {ceiling:.2f}x: the two vCPUs do not give two notebook runs (imports, pandas, "
          f"Chromium) two cores' worth.")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
