"""Many runs at once on dask.distributed: local cluster by default, an existing one by address.

Each params file is one task.  A task validates nothing twice (params are checked before
submission, so a bad file fails at once without occupying a worker), runs in isolation (one
failure never stops the others), retries on failure when asked, and returns a plain record for
the run log.  A run whose notebook, parameters and input files (sha256) are unchanged since its
last successful report is skipped unless ``force``.  Runs are handed out longest first, by
their durations last time, so no worker idles at the end while another finishes a long run.
Each worker process keeps one Chromium for all the PDFs it prints, launched while its first
notebook executes.
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
from .io import atomic_write_text, sha256_file
from .runner import DEFAULT_OUT, _safe_dest, fingerprint, input_files, run_spec

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


def _unchanged(spec: RunSpec, last: dict | None) -> bool:
    if last is None:
        return False
    hashes = {str(p): sha256_file(p) for p in input_files(spec.params)}
    return last.get("fingerprint") == fingerprint(spec.notebook, spec.params, hashes)


def plan(files, *, out=None, force=False) -> tuple[list[tuple[Path, RunSpec]], list[BatchRecord]]:
    """Validate every params file; return (runs to do, longest first; records of files failed
    or skipped)."""
    out = Path(out) if out else DEFAULT_OUT
    todo, done = [], []
    runs_seen: dict[tuple[str, str], Path] = {}
    for f in files:
        rec = {"params_file": str(f), "notebook": None, "run": None, "status": None, "seconds": 0.0,
               "folder": None, "error": None, "attempts": 0}
        try:
            spec = load_params(f)
            rec.update(notebook=spec.notebook.name, run=spec.run)
            key = (spec.params["study"], spec.run)
            if key in runs_seen:
                raise ParamsError(f"{f}: run {spec.run!r} of study {key[0]!r} is also produced by "
                                  f"{runs_seen[key]}; give one of them another `run:` id")
            runs_seen[key] = f
            last = _last_report(spec, out)
            if not force and _unchanged(spec, last):
                rec.update(status="skipped", folder=str(_safe_dest(out, *key)))
                done.append(rec)
                continue
            todo.append((f, spec, last))
        except WorkbenchError as exc:
            rec.update(status="failed", error=str(exc))
            done.append(rec)
    return longest_first(todo, out), done


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


def _task(params_file: str, spec_json: str, out: str, formats: tuple, retries: int) -> BatchRecord:
    spec = RunSpec.model_validate_json(spec_json)
    rec = {"params_file": params_file, "notebook": spec.notebook.name, "run": spec.run,
           "status": "failed", "seconds": 0.0, "folder": None, "error": None, "attempts": 0}
    t0 = time.time()
    for attempt in range(1, retries + 2):
        rec["attempts"] = attempt
        try:
            renderer = _renderer() if "pdf" in formats else None
            res = run_spec(spec, out=out, formats=formats, renderer=renderer)
            rec.update(status="ok", folder=str(res.folder), error=None)
            break
        except WorkbenchError as exc:
            rec["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - isolation: any failure is this run's alone
            rec["error"] = f"{type(exc).__name__}: {exc}"
    rec["seconds"] = round(time.time() - t0, 3)
    return rec


# --------------------------------------------------------------------------------------------
def _client(scheduler: str | None, workers: int | None):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except OSError as exc:
            raise WorkbenchError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
    import dask

    # One run per worker at a time (no run queued behind a busy worker while another idles),
    # in the order of the submitted priorities (longest first).
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster


def run_batch(
    patterns,
    *,
    out=None,
    workers: int | None = None,
    scheduler: str | None = None,
    formats=("html", "pdf"),
    retries: int = 0,
    force: bool = False,
    log: str | Path | None = None,
    progress: bool = True,
) -> list[BatchRecord]:
    """Run every params file matched by ``patterns``; return one record per file.

    Records go to a JSON Lines log (``<out>/batch-log.jsonl`` unless ``log`` is given), one line
    per params file with a timestamp.
    """
    out = Path(out) if out else DEFAULT_OUT
    files = expand(patterns)
    todo, records = plan(files, out=out, force=force)
    if todo:
        client, cluster = _client(scheduler, workers)
        try:
            from distributed import as_completed

            futures = [
                client.submit(_task, str(f), spec.model_dump_json(), str(out), tuple(formats), retries,
                              key=f"run-{i}-{spec.run}", pure=False, priority=len(todo) - i)
                for i, (f, spec) in enumerate(todo)
            ]
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=len(futures), unit="run", desc="batch")
            for fut in as_completed(futures):
                try:
                    records.append(fut.result())
                except Exception as exc:  # noqa: BLE001 - a worker died under this run
                    idx = futures.index(fut)
                    f, spec = todo[idx]
                    records.append({"params_file": str(f), "notebook": spec.notebook.name,
                                    "run": spec.run, "status": "failed", "seconds": 0.0,
                                    "folder": None, "error": f"worker lost: {exc}", "attempts": 1})
                if bar is not None:
                    bar.update(1)
            if bar is not None:
                bar.close()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    order = {str(f): i for i, f in enumerate(files)}
    records.sort(key=lambda r: order.get(r["params_file"], 0))
    _write_log(records, Path(log) if log else out / "batch-log.jsonl")
    return records


def _write_log(records, path: Path) -> None:
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    lines = "".join(json.dumps({"time": stamp, **r}, ensure_ascii=False) + "\n" for r in records)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    atomic_write_text(path, old + lines)
