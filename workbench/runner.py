"""Run a notebook with papermill and publish its report atomically.

A run writes into a hidden temporary folder next to its destination and is renamed into
``<out>/<study>/<run id>/`` only when the notebook executed and every requested format
exported.  A failed run goes to ``<run id>.failed/`` (the executed notebook with its error, the
HTML if it could be made, and the manifest) and raises :class:`RunError`; an earlier good report
under ``<run id>/`` is never touched.

Scratch folders are named ``.tmp-<run id>~<pid>~<token>`` (``~`` cannot occur in a run id, so a
run ``wave`` never mistakes the folder of a run ``wave-2026-06`` for its own) and each has a
sibling lock file its run holds until it ends: a later run removes a scratch folder only when it
has exactly its own run id and its lock is free (its run is gone).  Publishing (the swap of the
old report for the new) holds a lock on the study's folder, so two runs never interleave it.
The manifest lists the requested formats and the sha256 of every report file, so a batch skips a
run only when its report is really there and whole (:func:`report_intact`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from . import PROJECT_ROOT, __version__
from .config import RunSpec, load_params
from .errors import ExportError, ParamsError, RunError, WorkbenchError
from .io import atomic_write_text, sha256_file

__all__ = ["RunResult", "run", "run_spec", "input_files", "fingerprint", "report_intact", "DEFAULT_OUT"]

# papermill re-parses the parameters cell with its own line reader and logs lines it cannot read
# and parameters it does not see; the workbench validates parameters itself (config), so those
# messages are noise on the console.
logging.getLogger("papermill").setLevel(logging.ERROR)

DEFAULT_OUT = PROJECT_ROOT / "reports"
_PACKAGES = ("cx-workbench", "numpy", "pandas", "scipy", "semopy", "pingouin", "statsmodels",
             "matplotlib", "seaborn", "papermill", "nbconvert", "playwright", "dask", "distributed")


@dataclass(frozen=True)
class RunResult:
    """What a run produced."""

    run: str
    status: str  # "ok" | "failed"
    folder: Path
    files: dict = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""


# nbformat (through jsonschema) and jupyter_client take over a second to import; they are
# imported where a notebook is run, so `workbench batch` plans and validates without them.


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict:
    v = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            v[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return v


def input_files(params: dict) -> list[Path]:
    """Files a run reads, as named by its parameters (folders count file by file, not recursively)."""
    from .config import _is_path_key

    files: list[Path] = []
    for key, value in params.items():
        if not (_is_path_key(key) and isinstance(value, str) and value):
            continue
        if value == "demo":
            from . import synth

            base = synth.demo_dir() if key == "data" else None
            if base is not None:
                files += sorted(p for p in base.iterdir() if p.is_file())
            continue
        p = Path(value)
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
        elif p.is_file():
            files.append(p)
    return sorted(set(files))


def fingerprint(notebook: Path, params: dict, hashes: dict) -> str:
    """One hash of everything that determines a report: notebook, parameters, inputs, version."""
    h = hashlib.sha256()
    h.update(sha256_file(notebook).encode())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    h.update(json.dumps(hashes, sort_keys=True).encode())
    h.update(__version__.encode())
    return h.hexdigest()


def _cover(nb, params: dict, meta: dict | None = None) -> dict:
    """The cover page: client, report title, the study's title in words and the run's facts.

    The study's internal id (``demo``, ``acme-2026``) names folders, not reports: it stays in
    the manifest and off the cover."""
    from .narrative import t
    from .report import study_title

    lang = params.get("language", "en")
    meta = meta or {}
    titles = nb.metadata.get("workbench", {}).get("title", {})
    title = meta.get("title") or titles.get(lang) or titles.get("en") or nb.metadata.get("title") \
        or meta.get("study") or ""
    study = meta.get("study") or study_title(params, lang)
    date = params.get("report_date") or _dt.date.today().isoformat()
    rows = []
    if params.get("period"):
        rows.append([t("cover.period", lang), params["period"]])
    rows.append([t("cover.date", lang), date])
    rows.append([t("cover.language", lang), t(f"language.{lang}", lang)])
    return {
        "client": params.get("client", ""),
        "title": title,
        "study": study,
        "meta": rows,
        "lang": lang,
        "date": date,
        "footer": t("cover.footer", lang),
    }


def _relative(path, *bases: Path) -> str:
    """``path`` relative to the first of ``bases`` that holds it, else relative to the first base
    (``../``): a manifest names files without the machine's folders."""
    text = str(path)
    if not text or text == "demo" or text.startswith("<"):
        return text
    p = Path(text)
    if not p.is_absolute():
        return text
    for base in bases:
        try:
            return p.relative_to(base).as_posix()
        except ValueError:
            continue
    try:
        return Path(os.path.relpath(p, bases[0])).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return p.name


def _bases(spec) -> list[Path]:
    """Folders a manifest's paths are relative to: the project, then the params file's folder."""
    bases = [PROJECT_ROOT.resolve()]
    if not spec.source.startswith("<"):
        bases.append(Path(spec.source).resolve().parent)
    return bases


def _manifest_paths(spec, params: dict, hashes: dict) -> tuple[str, dict, dict]:
    """The params file, parameters and inputs of a manifest with relative paths."""
    from .config import _is_path_key

    bases = _bases(spec)
    source = _relative(Path(spec.source).resolve(), *bases) if not spec.source.startswith("<") else spec.source
    shown = {k: _relative(v, *bases) if _is_path_key(k) and isinstance(v, str) else v for k, v in params.items()}
    inputs = {_relative(k, *bases): v for k, v in hashes.items()}
    return source, shown, inputs


def _without_machine_paths(nb, spec, params: dict, scratch: Path):
    """The executed notebook as published: the paths papermill injected (parameters, its own
    metadata) and any the outputs print are shown as in the manifest, relative to the project or
    the params file, and the run's scratch folder as ``.`` — a report names no machine folders."""
    import nbformat

    from .config import _is_path_key

    bases = _bases(spec)

    def shown(path) -> str:  # inside the project or the params folder: relative; else its name
        rel = _relative(path, *bases)
        return Path(path).name if rel.startswith("../") or Path(rel).is_absolute() else rel

    swaps = {str(scratch): "."}
    for key, value in params.items():
        if _is_path_key(key) and isinstance(value, str) and Path(value).is_absolute():
            swaps[value] = shown(value)
    notebook = spec.notebook.resolve()
    swaps[str(notebook)] = shown(notebook)
    swaps[str(notebook.parent)] = shown(notebook.parent)
    text = nbformat.writes(nb)
    for old in sorted(swaps, key=len, reverse=True):  # longest first: a file before its folder
        text = text.replace(json.dumps(old)[1:-1], json.dumps(swaps[old])[1:-1])
    for base in bases:  # paths the outputs print under the project or the params folder
        text = text.replace(json.dumps(str(base) + os.sep)[1:-1], "")
    return nbformat.reads(text, as_version=4)


def _publish(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``; an existing ``dest`` is swapped out, then removed.  Runs of one
    study publish one at a time (a lock on the study's folder itself: no lock file is left)."""
    old = None
    with _locked(dest.parent):
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(dest, old)
        os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _locked(folder: Path):
    """Hold an exclusive lock on the folder ``folder`` for the block."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        _flock(fd, blocking=True)
        yield
    finally:
        os.close(fd)


def _flock(fd: int, *, blocking: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locks, the PID check remains
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_SCRATCH = re.compile(r"\.tmp-(?P<run>[A-Za-z0-9_.\-]+)~(?P<pid>\d+)~(?P<token>[0-9a-f]{8})")


class _Scratch:
    """A run's scratch folder and the lock that says its run is alive."""

    def __init__(self, parent: Path, run_id: str):
        self.path = parent / f".tmp-{run_id}~{os.getpid()}~{uuid.uuid4().hex[:8]}"
        self.lock = self.path.with_name(self.path.name + ".lock")
        self._fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o666)
        _flock(self._fd, blocking=True)
        self.path.mkdir()

    def release(self) -> None:
        """Drop the lock (the folder is published or removed by then)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            with contextlib.suppress(OSError):
                self.lock.unlink()

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()


def _remove_stale(folder: Path, run_id: str) -> None:
    """Remove scratch folders of exactly ``run_id`` whose run is gone (killed runs).

    A folder belongs to ``run_id`` only when its whole name parses to that id; it is stale when
    its lock file can be locked (the lock dies with its process, whatever the PID is now), or,
    without a lock file, when its process is gone.
    """
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    legacy = re.compile(r"\.tmp-" + re.escape(run_id) + r"-(?P<pid>\d+)-[0-9a-f]{8}")  # before ~ names
    for p in entries:
        m = _SCRATCH.fullmatch(p.name)
        if m is None or m["run"] != run_id:
            m = legacy.fullmatch(p.name)
        if m is None or not p.is_dir():
            continue
        lock = p.with_name(p.name + ".lock")
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            stale = not _alive(int(m["pid"]))
            fd = None
        except OSError:
            continue
        else:
            stale = _flock(fd, blocking=False)
        try:
            if stale:
                shutil.rmtree(p, ignore_errors=True)
                with contextlib.suppress(OSError):
                    lock.unlink()
        finally:
            if fd is not None:
                os.close(fd)


def _output_hashes(folder: Path) -> dict:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir())
            if p.is_file() and p.name != "manifest.json" and not p.name.startswith(".")}


def report_intact(folder: Path, manifest: dict, formats=()) -> bool:
    """True when ``folder`` holds every report file its manifest lists, byte for byte (sha256),
    and the manifest's formats include ``formats``."""
    hashes = manifest.get("output_sha256")
    if not isinstance(hashes, dict) or not hashes:
        return False
    made = manifest.get("formats")
    if not isinstance(made, list) or not set(formats) <= set(made):
        return False
    for name, digest in hashes.items():
        p = folder / str(name)
        if Path(str(name)).name != name or not p.is_file():
            return False
        try:
            if sha256_file(p) != digest:
                return False
        except WorkbenchError:
            return False
    return True


def _check_same_wave(dest: Path, params: dict, source: str) -> None:
    """Refuse to replace a good report of another wave (same run id, different wave)."""
    wave = params.get("wave")
    if not isinstance(wave, int) or isinstance(wave, bool):
        return
    try:
        old = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
        old_wave = old["parameters"]["wave"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if old.get("status") == "ok" and isinstance(old_wave, int) and old_wave != wave:
        raise ParamsError(
            f"{source}: run {dest.name!r} would replace the report of wave {old_wave} with wave {wave}; "
            f"the run id comes from the period ({params.get('period')!r}), so check the period column "
            "of the data, or give this run its own `run:` id")


def _safe_dest(out: Path, study: str, run_id: str) -> Path:
    out = out.resolve()
    dest = (out / study / run_id).resolve()
    if out not in dest.parents:
        raise ParamsError(f"report folder {dest} would be outside the output folder {out}")
    return dest


# --------------------------------------------------------------------------------------------
def check_run(spec: RunSpec) -> None:
    """Refuse a run whose parameters do not fit its study (all problems in one ParamsError)."""
    from .study import check_params

    problems = check_params(spec.notebook.stem, spec.params)
    if problems:
        raise ParamsError("\n".join(f"{spec.source}: {p}" for p in problems))


def run_spec(
    spec: RunSpec,
    *,
    out: str | Path | None = None,
    formats=("html", "pdf"),
    renderer=None,
    timeout: int | None = 1800,
    warm_next=False,
) -> RunResult:
    """Execute a validated run and publish its report; raise RunError if anything failed.

    ``formats`` are names of :data:`workbench.formats.EXPORTERS`.  ``warm_next`` (a bool, or a
    callable asked when the cells are done) says another run will follow on this thread: its
    kernel then starts while this run exports (:mod:`workbench.kernels`)."""
    from .formats import parse_formats

    try:
        formats = parse_formats(tuple(formats))
    except ValueError as exc:
        raise ParamsError(f"formats: {exc}") from None
    started = time.time()
    out = Path(out) if out else DEFAULT_OUT
    params = dict(spec.params)
    check_run(spec)
    dest = _safe_dest(out, params["study"], spec.run)
    _check_same_wave(dest, params, spec.source)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(dest.parent, spec.run)
        scratch = _Scratch(dest.parent, spec.run)
    except OSError as exc:
        raise RunError(f"cannot write reports under {dest.parent}: {exc.strerror or exc}") from None
    try:
        return _execute(spec, params, dest, scratch, started, formats=formats, renderer=renderer,
                        timeout=timeout, warm_next=warm_next)
    except BaseException:  # Ctrl-C, SIGTERM (SystemExit), a full disk: no scratch left behind
        scratch.discard()
        raise
    finally:
        scratch.release()


def _execute(spec, params, dest, scratch, started, *, formats, renderer, timeout, warm_next=False) -> RunResult:
    import nbformat
    import papermill as pm

    from . import kernels

    from .export import export_notebook
    from .formats import EXPORTERS, needs_model
    from .reportmodel import MODEL_FILE

    tmp = scratch.path
    stem = spec.notebook.stem
    files = {"ipynb": tmp / f"{stem}.ipynb"}
    hashes = {str(p): sha256_file(p) for p in input_files(params)}
    source, shown_params, shown_inputs = _manifest_paths(spec, params, hashes)
    template = getattr(spec, "deck_template", "") or ""
    manifest = {
        "run": spec.run,
        "notebook": spec.notebook.name,
        "notebook_sha256": sha256_file(spec.notebook),
        "params_file": source,
        "parameters": shown_params,
        "inputs": shown_inputs,
        "fingerprint": fingerprint(spec.notebook, params, hashes),
        "formats": sorted(formats),
        "versions": _versions(),
        "git_commit": _git_commit(),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "timings": {},
        "status": "running",
        "error": None,
        "workbench_version": __version__,
    }
    if template and "pptx" in formats:
        manifest["deck_template"] = {"path": _relative(template, *_bases(spec)),
                                     "sha256": sha256_file(Path(template))}
    model_path = tmp / MODEL_FILE
    error = None
    try:
        t0 = time.time()
        manifest["warm_kernel"] = kernels.take(spec.notebook.parent)
        try:
            pm.execute_notebook(
                str(spec.notebook),
                str(files["ipynb"]),
                parameters={**params, "output_dir": str(tmp)},
                kernel_name="python3",
                language="python",
                cwd=str(spec.notebook.parent),
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                execution_timeout=timeout,
                kernel_manager_class=kernels.manager_class(),
            )
        except pm.PapermillExecutionError as exc:
            error = (f"{stem}: cell {exc.exec_count} raised {exc.ename}: {exc.evalue}".rstrip(": "))
        except Exception as exc:  # kernel died, timeout, missing kernel, ...
            error = f"{stem}: execution failed: {type(exc).__name__}: {exc}"
        finally:
            kernels.drop()  # handed but never taken (the notebook could not be read)
        manifest["timings"]["execute_s"] = round(time.time() - t0, 3)
        manifest["forked_kernel"] = kernels.forked()
        if warm_next() if callable(warm_next) else warm_next:
            kernels.prepare(spec.notebook.parent)  # boots and imports while this run exports
        if error is None:
            nb = _without_machine_paths(nbformat.read(str(files["ipynb"]), as_version=4), spec, params, tmp)
            model = _load_model(model_path, whole=needs_model(formats)) if model_path.is_file() else None
            cover = _cover(nb, params, model.meta if model is not None else None)
            nb.metadata.setdefault("workbench", {})["cover"] = cover
            nb.metadata["title"] = cover["title"]  # nbconvert's <title>: the report's, not "Notebook"
            nbformat.write(nb, str(files["ipynb"]))
            if model is not None:  # what the run knows and the kernel did not: the cover's facts
                model.meta.update({k: v for k, v in (("title", cover["title"]), ("study", cover["study"]),
                                                      ("report_date", cover["date"]), ("run", spec.run))
                                   if not model.meta.get(k)})
            t1 = time.time()
            per_format: dict = {}
            manifest["timings"]["export_by_format_s"] = per_format
            footer = f"{params.get('client', '')} · {cover['title']}"
            try:
                files.update(export_notebook(nb, tmp / stem, formats=formats, renderer=renderer,
                                             footer=footer, model=model,
                                             model_path=model_path if needs_model(formats) else None,
                                             deck_template=template or None,
                                             brand=_brand(params) if needs_model(formats) else None,
                                             timings=per_format))
            except ExportError as exc:
                error = f"{stem}: {exc}"
                files.update({k: EXPORTERS[k].path(tmp / stem) for k in formats
                              if EXPORTERS[k].path(tmp / stem).exists()})
            manifest["timings"]["export_s"] = round(time.time() - t1, 3)
    except WorkbenchError as exc:
        error = f"{stem}: {exc}"
    except OSError as exc:  # a full disk, a folder taken away: said in words, kept as a failed run
        error = f"{stem}: cannot write the report: {exc.strerror or exc}"
    with contextlib.suppress(OSError):  # the model feeds the exporters; it is not a report file
        model_path.unlink()
    manifest["timings"]["total_s"] = round(time.time() - started, 3)
    manifest["status"] = "failed" if error else "ok"
    manifest["error"] = error
    manifest["output_sha256"] = _output_hashes(tmp)
    manifest["outputs"] = sorted(manifest["output_sha256"]) + ["manifest.json"]
    try:
        atomic_write_text(tmp / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        final = dest if not error else dest.with_name(dest.name + ".failed")
        _publish(tmp, final)
    except OSError as exc:
        scratch.discard()
        raise RunError(f"{stem}: cannot write the report under {dest.parent}: {exc.strerror or exc}"
                       + (f" (after: {error})" if error else "")) from None
    result_files = {k: final / Path(v).name for k, v in files.items() if (final / Path(v).name).exists()}
    result_files["manifest"] = final / "manifest.json"
    if error:
        raise RunError(f"{error}\nThe executed notebook and manifest are kept in {final}")
    return RunResult(spec.run, "ok", final, result_files, time.time() - started)


def _brand(params: dict):
    """The study's codebook, for its brand block (palette, logo, font); None if it cannot be read
    (the notebook read it, so that is rare, and the formats fall back to the house style)."""
    from .codebook import load_codebook

    try:
        return load_codebook(params.get("codebook", "demo"))
    except (WorkbenchError, OSError):
        return None


def _load_model(path: Path, *, whole: bool = True):
    """The report model the kernel saved (only its metadata unless ``whole``), or None when it
    cannot be read (the formats that need it then say so)."""
    from .reportmodel import Report

    try:
        if not whole:
            return Report(meta=dict(json.loads(path.read_text(encoding="utf-8")).get("meta", {})))
        return Report.load(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def run(
    notebook: str | Path | None = None,
    params_file: str | Path | None = None,
    *,
    overrides: dict | None = None,
    out: str | Path | None = None,
    formats=("html", "pdf"),
    renderer=None,
) -> RunResult:
    """Validate parameters (before any kernel starts), then execute and publish."""
    spec = load_params(params_file, notebook=notebook, overrides=overrides)
    return run_spec(spec, out=out, formats=formats, renderer=renderer)

