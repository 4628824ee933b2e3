"""Many runs at once on dask.distributed: local cluster by default, an existing one by address.

Each params file is one task.  A task validates nothing twice (params are checked before
submission, so a bad file fails at once without occupying a worker), runs in isolation (one
failure never stops the others), retries on failure when asked, and returns a plain record for
the run log.  A run whose notebook, parameters and input files (sha256) are unchanged since its
last successful report is skipped unless ``force``.  Runs are handed out longest first, by
their durations last time, so no worker idles at the end while another finishes a long run.
Each worker process keeps one Chromium for all the PDFs it prints, launched while its first
notebook executes.

Against a scheduler address the workers are not assumed to share the client's disk: each run
is shipped (its notebook, parameters and input files as bytes, :mod:`workbench.remote`), runs in
a private temporary folder on its worker, and comes back as the report folder's files, which the
client publishes in ``out`` as a local run would.  ``shared_disk=True`` (or
``WORKBENCH_SHARED_DISK=1``) lets workers that mount the same folders at the same paths read
and write them directly instead.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import glob
import json
import time
from pathlib import Path

from .config import RunSpec, load_params
from .errors import ParamsError, WorkbenchError
from .formats import needs_renderer
from .io import atomic_write_text, sha256_file
from .runner import (DEFAULT_OUT, _check_same_wave, _safe_dest, fingerprint, input_files, report_intact,
                     run_spec)

__all__ = ["expand", "plan", "longest_first", "run_batch", "BatchRecord"]

BatchRecord = dict  # params_file, notebook, run, status, seconds, folder, error, attempts


def expand(patterns) -> list[Path]:
    """Params files named by paths or glob patterns (``**`` recurses), sorted, de-duplicated.

    A pattern skips ``codebook.yaml`` files: a study's codebook lives next to its params files
    (``params/<study>/codebook.yaml``, written by ``workbench init``) and is not a run.
    """
    files: list[Path] = []
    for pat in patterns:
        if glob.has_magic(str(pat)):
            hits = [h for h in sorted(glob.glob(str(pat), recursive=True)) if Path(h).name != "codebook.yaml"]
        else:
            hits = [str(pat)]
        if not hits:
            raise ParamsError(f"no params files match {pat!r}")
        files += [Path(h) for h in hits if not Path(h).is_dir()]
    seen, out = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _last_report(spec: RunSpec, out: Path) -> dict | None:
    """The manifest of this run's last successful report, or None."""
    try:
        old = json.loads((_safe_dest(out, spec.params["study"], spec.run) / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return old if isinstance(old, dict) and old.get("status") == "ok" else None


def _unchanged(spec: RunSpec, last: dict | None, out: Path, formats=()) -> bool:
    """The last good report was made from the same notebook, parameters and inputs, in (at
    least) the formats asked for now, and its files are all there, unchanged (sha256)."""
    if last is None:
        return False
    hashes = {str(p): sha256_file(p) for p in input_files(spec.params)}
    if last.get("fingerprint") != fingerprint(spec.notebook, spec.params, hashes):
        return False
    return report_intact(_safe_dest(out, spec.params["study"], spec.run), last, formats)


def plan(files, *, out=None, force=False, trusted=False,
         formats=("html", "pdf")) -> tuple[list[tuple[Path, RunSpec]], list[BatchRecord]]:
    """Validate every params file; return (runs to do, longest first; records of files failed
    or skipped).

    Each file is checked on its own: whatever goes wrong with one (a bad file, an unreadable
    input, a bug) is that file's failed record, and the others still run.
    """
    out = Path(out) if out else DEFAULT_OUT
    todo, done = [], []
    runs_seen: dict[tuple[str, str], Path] = {}
    for f in files:
        rec = {"params_file": str(f), "notebook": None, "run": None, "status": None, "seconds": 0.0,
               "folder": None, "error": None, "attempts": 0}
        try:
            spec = load_params(f, trusted=trusted)
            rec.update(notebook=spec.notebook.name, run=spec.run)
            key = (spec.params["study"], spec.run)
            if key in runs_seen:
                raise ParamsError(f"{f}: run {spec.run!r} of study {key[0]!r} is also produced by "
                                  f"{runs_seen[key]}; give one of them another `run:` id")
            runs_seen[key] = f
            last = _last_report(spec, out)
            if not force and _unchanged(spec, last, out, formats):
                rec.update(status="skipped", folder=str(_safe_dest(out, *key)))
                done.append(rec)
                continue
            todo.append((f, spec, last))
        except WorkbenchError as exc:
            rec.update(status="failed", error=str(exc))
            done.append(rec)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - isolation: one file's problem is its own
            rec.update(status="failed", error=f"{f}: {_describe(exc)}")
            done.append(rec)
    return longest_first(todo, out), done


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}" + (f" ({exc.filename})" if exc.filename else "")
    return f"unexpected {type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------------------------
# order: longest first
# --------------------------------------------------------------------------------------------
_LOG_TAIL_BYTES = 1 << 20


def _history(out: Path) -> tuple[dict, dict]:
    """Seconds of earlier successful runs from the batch log: (by params file, by notebook)."""
    by_file: dict[str, float] = {}
    by_notebook: dict[str, list[float]] = {}
    path = out / "batch-log.jsonl"
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - _LOG_TAIL_BYTES))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return by_file, by_notebook
    for line in lines:
        try:
            rec = json.loads(line)
            seconds = float(rec["seconds"])
        except (ValueError, KeyError, TypeError):
            continue  # a partial first line of the tail, or a foreign line
        if rec.get("status") != "ok" or not seconds > 0:
            continue
        by_file[str(rec.get("params_file"))] = seconds
        by_notebook.setdefault(str(rec.get("notebook")), []).append(seconds)
    return by_file, by_notebook


def _expected_seconds(f: Path, spec: RunSpec, last: dict | None, history) -> float | None:
    """How long this run took last time: its last report, else the batch log, else None."""
    by_file, by_notebook = history
    try:
        seconds = float(last["timings"]["total_s"])
        if seconds > 0:
            return seconds
    except (KeyError, TypeError, ValueError):
        pass
    if str(f) in by_file:
        return by_file[str(f)]
    past = sorted(by_notebook.get(spec.notebook.name, []))
    return past[len(past) // 2] if past else None


def longest_first(todo, out) -> list[tuple[Path, RunSpec]]:
    """Runs ordered longest first by their last known duration; runs never seen go first.

    ``todo`` holds ``(params file, spec, manifest of its last good report or None)``.  Handing
    the longest runs out first (Graham's LPT rule) keeps workers from idling at the end of a
    batch while one of them finishes a long run it picked up last.  Durations come from each
    run's last report, else the batch log (same params file, else the median of the same
    notebook).  Equal or unknown durations keep the order of the files.
    """
    history = _history(Path(out) if out else DEFAULT_OUT)
    est = [_expected_seconds(f, spec, last, history) for f, spec, last in todo]
    order = sorted(range(len(todo)), key=lambda i: (est[i] is not None, -(est[i] or 0.0), i))
    return [todo[i][:2] for i in order]


# --------------------------------------------------------------------------------------------
# the task (runs in a worker process)
# --------------------------------------------------------------------------------------------
_RENDERER = None


def _renderer():
    global _RENDERER
    if _RENDERER is None:
        from .export import PDFRenderer

        _RENDERER = PDFRenderer()
        atexit.register(_RENDERER.close)
        try:
            _RENDERER.start(wait=False)  # the launch overlaps the first notebook's execution
        except WorkbenchError:
            pass  # no Chromium: the export says so and still writes the HTML
    return _RENDERER


def _task(params_file: str, spec_json: str, out: str, formats: tuple, retries: int,
          warm_next: bool = False) -> BatchRecord:
    spec = RunSpec.model_validate_json(spec_json)
    rec = {"params_file": params_file, "notebook": spec.notebook.name, "run": spec.run,
           "status": "failed", "seconds": 0.0, "folder": None, "error": None, "attempts": 0}
    t0 = time.time()
    for attempt in range(1, retries + 2):
        rec["attempts"] = attempt
        try:
            renderer = _renderer() if needs_renderer(formats) else None
            res = run_spec(spec, out=out, formats=formats, renderer=renderer, warm_next=warm_next)
            rec.update(status="ok", folder=str(res.folder), error=None)
            break
        except WorkbenchError as exc:
            rec["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - isolation: any failure is this run's alone
            rec["error"] = f"{type(exc).__name__}: {exc}"
    rec["seconds"] = round(time.time() - t0, 3)
    return rec


# --------------------------------------------------------------------------------------------
#: Seconds to reach a scheduler and hear it answer; a server that is not dask never answers.
CONNECT_TIMEOUT = 15
#: Seconds to wait for a cluster's first worker (a dask-gateway cluster may still be scaling up).
WORKER_WAIT = 300

#: dask settings of the local cluster ``workbench batch`` starts.  One run per worker at a time
#: (no run queued behind a busy worker while another idles), in the order of the submitted
#: priorities (longest first), so no work stealing.  A task is one notebook run of seconds to
#: minutes whose work happens in its kernel and Chromium, not in the worker: dask's statistical
#: profiler (every thread's stack sampled every 10 ms), its 20 ms event-loop tick and its
#: half-second system and memory monitors only take CPU from the runs.  On 2 cores an idle
#: 2-worker cluster used 0.14 CPU-seconds per second with dask's defaults and 0.02 with these,
#: and a 2-worker batch ran 1.07x faster (``bench/RESULTS.md``, batch).  A cluster the user
#: brings keeps its own settings.
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.scheduler.work-stealing": False,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def _probe(address: str, timeout: float) -> dict:
    """Ask ``address`` who it is, within ``timeout`` seconds in all (connect and handshake).

    ``distributed.Client`` bounds the TCP connect but not the handshake, so a server that
    accepts connections and never speaks dask (or speaks another protocol) would hang it.
    """
    import asyncio
    import concurrent.futures

    async def ask():
        from distributed.comm import connect

        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    def run():
        return asyncio.run(asyncio.wait_for(ask(), timeout))

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # also works under a running loop
        return pool.submit(run).result(timeout=timeout + 10)


def _client(scheduler, workers: int | None):
    """A client of its own for the batch (closed at the end) and the local cluster it made, if any.

    ``scheduler`` is an address, or a cluster or client already made (a dask-gateway cluster,
    whose address alone does not carry its TLS credentials): the batch connects its own client
    with that cluster's security settings and leaves the cluster running.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None and not isinstance(scheduler, str):
        if hasattr(scheduler, "get_client"):  # a cluster object (dask-gateway, dask-kubernetes, ...)
            return scheduler.get_client(), None
        if isinstance(scheduler, Client):
            return Client(scheduler.scheduler.address, security=scheduler.security,
                          timeout=f"{CONNECT_TIMEOUT}s"), None
        raise WorkbenchError(f"scheduler: expected an address, a dask cluster or a client, "
                             f"got {type(scheduler).__name__}")
    if scheduler:
        try:
            ident = _probe(scheduler, CONNECT_TIMEOUT)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - refused, timed out, garbage on the wire
            why = "no answer within %d s" % CONNECT_TIMEOUT if isinstance(
                exc, (TimeoutError, __import__("asyncio").TimeoutError)) else (
                str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
            raise WorkbenchError(f"cannot reach the dask scheduler at {scheduler}: {why}") from None
        if not isinstance(ident, dict) or ident.get("type") != "Scheduler":
            kind = ident.get("type") if isinstance(ident, dict) else type(ident).__name__
            raise WorkbenchError(f"cannot reach the dask scheduler at {scheduler}: the server there is "
                                 f"not a dask scheduler (it says it is a {kind})")
        try:
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s"), None
        except (OSError, TimeoutError) as exc:
            raise WorkbenchError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
    import dask

    # Workers ignore Ctrl-C (the terminal sends it to the whole process group): the client
    # stops them itself, quietly.
    with dask.config.set(LOCAL_CLUSTER_CONFIG), _sigint_ignored():
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster


class _sigint_ignored:
    """Ignore SIGINT while child processes are started (they inherit the disposition)."""

    def __enter__(self):
        import signal
        import threading

        self._old = None
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        return self

    def __exit__(self, *exc):
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def run_batch(
    patterns,
    *,
    out=None,
    workers: int | None = None,
    scheduler=None,
    formats=("html", "pdf"),
    retries: int = 0,
    force: bool = False,
    log: str | Path | None = None,
    progress: bool = True,
    trusted: bool = False,
    shared_disk: bool | None = None,
) -> list[BatchRecord]:
    """Run every params file matched by ``patterns``; return one record per file.

    ``scheduler`` is an address (``tcp://host:8786``), or a dask cluster or client already made
    (e.g. a dask-gateway cluster); None starts a local cluster of ``workers`` processes.
    ``shared_disk`` says whether the workers see the client's files at the same paths: True
    for the local cluster, False (runs shipped as bytes) for any other, unless given or
    ``WORKBENCH_SHARED_DISK=1`` (:func:`workbench.remote.shared_disk_default`).

    Records go to a JSON Lines log (``<out>/batch-log.jsonl`` unless ``log`` is given), one line
    per params file with a timestamp.  Ctrl-C stops the batch: runs not finished are cancelled,
    their workers stopped and their scratch folders removed, the runs that finished are logged,
    and ``KeyboardInterrupt`` is raised again.
    """
    from . import remote

    out = Path(out) if out else DEFAULT_OUT
    files = expand(patterns)
    todo, records = plan(files, out=out, force=force, trusted=trusted, formats=formats)
    ship = not (remote.shared_disk_default(scheduler) if shared_disk is None else shared_disk)
    interrupted: KeyboardInterrupt | None = None
    if todo:
        client, cluster = _client(scheduler, workers)
        futures, finished, bar = [], set(), None
        try:
            from distributed import as_completed

            if ship:
                submitted = _submit_shipped(client, todo, out, formats, retries)
            else:
                warm = _warm_until(client, len(todo))
                submitted = [
                    client.submit(_task, str(f), spec.model_dump_json(), str(out), tuple(formats), retries,
                                  i < warm, key=f"run-{i}-{spec.run}", pure=False, priority=len(todo) - i)
                    for i, (f, spec) in enumerate(todo)
                ]
            index = {}
            for i, fut in enumerate(submitted):
                futures.append(fut)
                if isinstance(fut, dict):  # failed before it could be sent
                    records.append(fut)
                    finished.add(i)
                else:
                    index[fut.key] = i
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=len(futures), unit="run", desc="batch", initial=len(finished))
            for fut in as_completed([f for f in futures if not isinstance(f, dict)]):
                idx = index[fut.key]
                f, spec = todo[idx]
                try:
                    res = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker died under this run
                    records.append(_record(f, spec, status="failed", error=f"worker lost: {exc}", attempts=1))
                else:
                    records.append(_shipped_record(res, f, spec, out) if ship else res)
                finished.add(idx)
                if bar is not None:
                    bar.update(1)
        except KeyboardInterrupt as exc:
            interrupted = exc
        finally:
            if bar is not None:
                bar.close()
            if interrupted is not None:
                with _sigint_ignored():  # a second Ctrl-C must not cut the clean-up short
                    for i, fut in enumerate(futures):  # runs that ended before the Ctrl-C count
                        if i not in finished and fut.status == "finished":
                            try:
                                res = fut.result(timeout=10)
                                f, spec = todo[i]
                                records.append(_shipped_record(res, f, spec, out) if ship else res)
                                finished.add(i)
                            except Exception:  # noqa: BLE001 - then it is reported as stopped
                                pass
                    _stop(client, cluster, [futures[i] for i in range(len(futures)) if i not in finished])
                    for i, (f, spec) in enumerate(todo):
                        if i not in finished:
                            records.append({"params_file": str(f), "notebook": spec.notebook.name,
                                            "run": spec.run, "status": "interrupted", "seconds": 0.0,
                                            "folder": None, "error": "stopped by Ctrl-C", "attempts": 0})
                            _sweep(out, spec)
            else:
                client.close()
                if cluster is not None:
                    cluster.close()
    order = {str(f): i for i, f in enumerate(files)}
    records.sort(key=lambda r: order.get(r["params_file"], 0))
    _write_log(records, Path(log) if log else out / "batch-log.jsonl")
    if interrupted is not None:
        interrupted.records = records  # the caller may show what finished
        raise interrupted
    return records


def _record(f, spec: RunSpec, **kw) -> BatchRecord:
    rec = {"params_file": str(f), "notebook": spec.notebook.name, "run": spec.run, "status": "failed",
           "seconds": 0.0, "folder": None, "error": None, "attempts": 0}
    rec.update(kw)
    return rec


def _warm_until(client, runs: int) -> int:
    """Runs before this index start their worker's next kernel while they export
    (:mod:`workbench.kernels`): all but the last one per worker, which have no run after them."""
    try:
        workers = len(client.scheduler_info().get("workers", {}))
    except Exception:  # noqa: BLE001 - unknown: assume one worker per run at the end
        workers = runs
    return runs - max(1, workers)


def _submit_shipped(client, todo, out: Path, formats, retries) -> list:
    """Pack and submit each run for workers without the client's disk (:mod:`.remote`).

    Returns one entry per run: its future, or its failed record when it could not be sent (an
    input over the size bound, an unreadable file, a report of another wave in the way).
    Input files are sent once per batch however many runs read them.
    """
    from distributed import TimeoutError as DaskTimeout

    from . import remote

    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except (TimeoutError, DaskTimeout):
        return [_record(f, spec, error=f"no worker joined the dask cluster within {WORKER_WAIT} s")
                for f, spec in todo]
    sent: dict = {}
    entries = []
    warm = _warm_until(client, len(todo))
    for i, (f, spec) in enumerate(todo):
        try:
            _check_same_wave(_safe_dest(out, spec.params["study"], spec.run), spec.params, spec.source)
            payload, files = remote.pack(spec)
            blobs = remote.scatter_files(client, files, sent, timeout=WORKER_WAIT)
        except WorkbenchError as exc:
            entries.append(_record(f, spec, error=str(exc)))
            continue
        except OSError as exc:
            entries.append(_record(f, spec, error=f"{f}: cannot read an input file: {_describe(exc)}"))
            continue
        entries.append(client.submit(remote.run_shipped, payload, blobs, tuple(formats), retries,
                                     warm_next=i < warm, key=f"run-{i}-{spec.run}-{time.time_ns()}", pure=False,
                                     priority=len(todo) - i))
    return entries


def _shipped_record(res: dict, f, spec: RunSpec, out: Path) -> BatchRecord:
    """Publish a shipped run's report files in ``out``; its record for the run log."""
    from . import remote

    rec = _record(f, spec, status=res.get("status", "failed"), seconds=res.get("seconds", 0.0),
                  attempts=res.get("attempts", 0), error=res.get("error"))
    try:
        hashes = {str(p): sha256_file(p) for p in input_files(spec.params)}
        folder = remote.publish(res, spec, out, hashes)
    except WorkbenchError as exc:
        rec.update(status="failed", error=(rec["error"] + "\n" if rec["error"] else "") + str(exc))
        return rec
    except OSError as exc:
        rec.update(status="failed", error=f"cannot publish the report: {_describe(exc)}")
        return rec
    if rec["error"]:
        where = str(_safe_dest(out, spec.params["study"], spec.run).parent)
        rec["error"] = rec["error"].replace(remote.REPORTS_MARK, where)
    if rec["status"] == "ok":
        rec["folder"] = str(folder)
    return rec


def _stop(client, cluster, pending) -> None:
    """Cancel ``pending`` runs and shut the cluster down (its workers with them)."""
    for step in (lambda: client.cancel(pending, force=True), client.close,
                 (cluster.close if cluster is not None else None)):
        if step is None:
            continue
        try:
            step()
        except Exception:  # noqa: BLE001 - best effort while stopping
            pass


def _sweep(out: Path, spec: RunSpec) -> None:
    """Remove the scratch folders a stopped run left (its worker process is gone)."""
    from .runner import _remove_stale

    try:
        _remove_stale(_safe_dest(out, spec.params["study"], spec.run).parent, spec.run)
    except (OSError, WorkbenchError):
        pass


def _write_log(records, path: Path) -> None:
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    lines = "".join(json.dumps({"time": stamp, **r}, ensure_ascii=False) + "\n" for r in records)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    atomic_write_text(path, old + lines)
