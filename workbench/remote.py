"""Runs shipped to workers that share no disk with the client (a cluster on other hosts).

A batch against a scheduler address cannot assume that its workers see the client's files or
that what they write reaches the client: on Kubernetes, dask-gateway or another host each
worker has its own disk.  So each run travels as bytes:

* the client **packs** a run (:func:`pack`): the notebook and every input file its parameters
  name (``data``, ``codebook`` and keys ending in ``_path``, ``_file`` or ``_dir``; a folder
  travels file by file, not recursively, as :func:`workbench.runner.input_files` counts it),
  each with its sha256.  Files keep their places relative to each other (a codebook next to its
  data folder stays next to it).  The built-in ``demo`` travels as it is (workers generate it),
  URLs (``s3://…``) are refused when the params are read (:func:`workbench.config.load_params`),
  before anything is sent: the data readers open files, not URLs.  Identical files
  are sent once per batch, whatever the number of runs that read them.
* the worker **runs** it (:func:`run_shipped`) in a private temporary folder (the notebook
  and inputs written there, the parameters pointed at them), with the ordinary runner, and
  returns the files of the report folder as bytes with their sha256; the temporary folder is
  removed whatever happens.
* the client **publishes** them (:func:`publish`) in its own ``--out`` exactly as a local run
  does: a scratch folder next to the destination, one rename under the study's lock, failed runs
  in ``<run id>.failed/``.  The manifest names the client's parameters, inputs and fingerprint,
  so a later batch skips the run when nothing changed.

Sizes are bounded both ways (:data:`MAX_INPUT_BYTES` per run, :data:`MAX_REPORT_BYTES` per
report; ``WORKBENCH_SHIP_INPUT_MB`` and ``WORKBENCH_SHIP_REPORT_MB`` change them): a run over a
bound fails with a sentence saying which files and what to do, and never reaches a worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from .config import RunSpec, _is_path_key, is_url
from .errors import RunError, WorkbenchError
from .formats import needs_renderer
from .io import atomic_write_bytes, atomic_write_text, sha256_file

__all__ = ["pack", "run_shipped", "publish", "is_url", "MAX_INPUT_BYTES", "MAX_REPORT_BYTES",
           "shared_disk_default"]


def _mb_env(name: str, default_mb: int) -> int:
    try:
        mb = float(os.environ.get(name, "") or default_mb)
    except ValueError:
        mb = default_mb
    return int(max(mb, 0) * (1 << 20))


#: Most bytes of input files one run may send to a worker (1 GiB; ``WORKBENCH_SHIP_INPUT_MB``).
MAX_INPUT_BYTES = _mb_env("WORKBENCH_SHIP_INPUT_MB", 1024)
#: Most bytes of report files one run may send back (512 MiB; ``WORKBENCH_SHIP_REPORT_MB``).
MAX_REPORT_BYTES = _mb_env("WORKBENCH_SHIP_REPORT_MB", 512)
#: Prefix of a run's private folder on a worker (under the worker's temporary folder).
TASK_PREFIX = "workbench-task-"
#: Stands for the study's report folder in a worker's error message; the client puts its own.
REPORTS_MARK = "\x00reports\x00"

_PLAIN_NAME = re.compile(r"[^/\\\x00]{1,255}")


def shared_disk_default(scheduler) -> bool:
    """Whether workers read and write the client's paths themselves.

    A local cluster shares the client's disk.  Against a scheduler address the workers may be
    anywhere, so runs are shipped, unless ``WORKBENCH_SHARED_DISK=1`` says the cluster's workers
    mount the same folders at the same paths (then shipping is skipped, which saves copying).
    """
    if scheduler is None or scheduler == "":
        return True
    return os.environ.get("WORKBENCH_SHARED_DISK", "").strip().lower() in ("1", "true", "yes")


# --------------------------------------------------------------------------------------------
# client: pack
# --------------------------------------------------------------------------------------------
def _blob_key(digest: str) -> str:
    return f"workbench-blob-{digest}"


def _files_of(value: str) -> tuple[Path, list[Path]] | None:
    """(the path, the files it stands for) for a local path parameter; None to pass it as is."""
    if not value or value == "demo" or is_url(value):
        return None
    p = Path(value)
    if p.is_dir():
        return p, sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
    if p.is_file():
        return p, [p]
    return None  # missing: the worker reports it exactly as a local run would


#: Key of the deck template among a payload's paths (not a notebook parameter: no clash).
_DECK_TEMPLATE = "<deck_template>"


def pack(spec: RunSpec, *, max_bytes: int | None = None) -> tuple[dict, dict[str, Path]]:
    """What a worker needs to run ``spec`` without the client's disk.

    Returns ``(payload, files)``: ``payload`` is small and JSON-compatible (the run, its
    parameters, where each path parameter and input file goes in the worker's folder, and each
    file's sha256); ``files`` maps each sha256 to the client file holding those bytes.
    Raises :class:`RunError` when the inputs exceed ``max_bytes`` (:data:`MAX_INPUT_BYTES`).
    """
    limit = MAX_INPUT_BYTES if max_bytes is None else max_bytes
    found: dict[str, tuple[Path, list[Path]]] = {}
    for key, value in spec.params.items():
        if _is_path_key(key) and isinstance(value, str):
            hit = _files_of(value)
            if hit is not None:
                found[key] = hit
    if "codebook" in found and found["codebook"][0].is_file():  # its brand logo sits beside it
        from .codebook import load_codebook

        try:
            logo = load_codebook(found["codebook"][0]).brand_logo_path()
        except WorkbenchError:  # a bad codebook: the worker's run says so, as a local run would
            logo = None
        if logo is not None and logo not in found["codebook"][1]:
            found["codebook"] = (found["codebook"][0], [*found["codebook"][1], logo])
    if getattr(spec, "deck_template", ""):  # the client's .pptx travels like an input
        hit = _files_of(spec.deck_template)
        if hit is not None:
            found[_DECK_TEMPLATE] = hit
    anchors = [str(p if p.is_dir() else p.parent) for p, _ in found.values()]
    root = Path(os.path.commonpath(anchors)) if anchors else None
    files: dict[str, Path] = {}
    inputs: list[dict] = []
    total = 0
    seen: set[str] = set()
    for _, (_, members) in found.items():
        for f in members:
            rel = f.relative_to(root).as_posix()
            if rel in seen:
                continue
            seen.add(rel)
            size = f.stat().st_size
            total += size
            if total > limit:
                raise RunError(
                    f"{spec.source}: the input files of run {spec.run!r} exceed "
                    f"{limit / (1 << 20):.0f} MB, the most a run sends to a worker; put them on storage "
                    "every worker mounts at the same path and run with WORKBENCH_SHARED_DISK=1, or raise "
                    "WORKBENCH_SHIP_INPUT_MB")
            digest = sha256_file(f)
            files[digest] = f
            inputs.append({"path": rel, "sha256": digest, "size": size})
    paths = {key: Path(p).relative_to(root).as_posix() for key, (p, _) in found.items()}
    nb_digest = sha256_file(spec.notebook)
    files[nb_digest] = spec.notebook
    payload = {
        "run": spec.run,
        "source": spec.source,
        "params": dict(spec.params),
        "notebook": {"name": spec.notebook.name, "sha256": nb_digest},
        "paths": paths,
        "inputs": inputs,
    }
    return payload, files


def scatter_files(client, files: dict[str, Path], sent: dict, *, timeout: float) -> dict:
    """Futures of the files' bytes on the cluster, each sent once per batch (``sent`` remembers)."""
    new = {d: p for d, p in files.items() if d not in sent}
    if new:
        data = {_blob_key(d): Path(p).read_bytes() for d, p in new.items()}
        futures = client.scatter(data, hash=False, timeout=timeout)
        for d in new:
            sent[d] = futures[_blob_key(d)]
    return {d: sent[d] for d in files}


# --------------------------------------------------------------------------------------------
# worker: run
# --------------------------------------------------------------------------------------------
def _check_blob(data: bytes, digest: str, what: str) -> bytes:
    if not isinstance(data, (bytes, bytearray)) or hashlib.sha256(data).hexdigest() != digest:
        raise RunError(f"{what} arrived damaged (sha256 differs from the client's)")
    return bytes(data)


def _unpack(payload: dict, blobs: dict, base: Path) -> RunSpec:
    nb_dir = base / "notebook"
    nb_dir.mkdir()
    nb = payload["notebook"]
    if not _PLAIN_NAME.fullmatch(nb["name"]) or nb["name"] in (".", ".."):
        raise RunError(f"notebook name {nb['name']!r} is not a plain file name")
    nb_path = nb_dir / nb["name"]
    nb_path.write_bytes(_check_blob(blobs[nb["sha256"]], nb["sha256"], "the notebook"))
    inputs = (base / "inputs").resolve()
    inputs.mkdir()

    def place(rel: str) -> Path:
        target = (inputs / rel).resolve()
        if target != inputs and inputs not in target.parents:
            raise RunError(f"input path {rel!r} would leave the run's folder")
        return target

    for item in payload["inputs"]:
        target = place(item["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_check_blob(blobs[item["sha256"]], item["sha256"], f"input {item['path']}"))
    params = dict(payload["params"])
    template = ""
    for key, rel in payload["paths"].items():
        target = place(rel)
        if key == _DECK_TEMPLATE:
            template = str(target)
            continue
        if not target.exists():  # a folder with no files in it
            target.mkdir(parents=True)
        params[key] = str(target)
    return RunSpec(notebook=nb_path, run=payload["run"], params=params, source=payload["source"],
                   deck_template=template)


def _collect(folder: Path, limit: int) -> dict:
    files, total = {}, 0
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith("."):
            continue
        total += p.stat().st_size
        if total > limit:
            raise RunError(f"the report is larger than {limit / (1 << 20):.0f} MB, the most a worker "
                           "sends back; raise WORKBENCH_SHIP_REPORT_MB on the workers and the client")
        files[p.name] = p.read_bytes()
    return files


def run_shipped(payload: dict, blobs: dict, formats: tuple, retries: int,
                timeout: int | None = 1800, warm_next: bool = False) -> dict:
    """Run a packed run in a private temporary folder; return its report folder's files.

    The result holds ``status`` (``ok`` or ``failed``), ``error``, ``attempts``, ``seconds``,
    ``files`` (name → bytes, every file of the report folder including ``manifest.json``),
    ``sha256`` (name → digest) and ``worker`` (host name).  A run that failed before it had a
    report folder returns no files.  The temporary folder is removed in every case.
    """
    from .batch import _renderer
    from .runner import run_spec

    t0 = time.time()
    res = {"status": "failed", "error": None, "attempts": 0, "seconds": 0.0, "files": {},
           "sha256": {}, "worker": os.uname().nodename if hasattr(os, "uname") else ""}
    base = Path(tempfile.mkdtemp(prefix=TASK_PREFIX))
    try:
        spec = _unpack(payload, blobs, base)
        out = base / "out"
        for attempt in range(1, retries + 2):
            res["attempts"] = attempt
            try:
                renderer = _renderer() if needs_renderer(formats) else None
                run_spec(spec, out=out, formats=formats, renderer=renderer, timeout=timeout,
                         warm_next=warm_next)
                res.update(status="ok", error=None)
                break
            except WorkbenchError as exc:
                res["error"] = str(exc)
            except Exception as exc:  # noqa: BLE001 - isolation: any failure is this run's alone
                res["error"] = f"{type(exc).__name__}: {exc}"
        folder = out / spec.params["study"] / (spec.run if res["status"] == "ok" else spec.run + ".failed")
        if res["error"]:  # the worker's folder means nothing to the client: name the study folder
            for where in {str((out / spec.params["study"]).resolve()), str(out / spec.params["study"])}:
                res["error"] = res["error"].replace(where, REPORTS_MARK)
        if folder.is_dir():
            try:
                res["files"] = _collect(folder, MAX_REPORT_BYTES)
            except RunError as exc:
                res.update(status="failed", error=str(exc), files={})
        res["sha256"] = {k: hashlib.sha256(v).hexdigest() for k, v in res["files"].items()}
    except WorkbenchError as exc:
        res["error"] = str(exc)
    except OSError as exc:
        res["error"] = f"cannot prepare the run on the worker: {exc.strerror or exc}"
    finally:
        shutil.rmtree(base, ignore_errors=True)
    res["seconds"] = round(time.time() - t0, 3)
    return res


# --------------------------------------------------------------------------------------------
# client: publish
# --------------------------------------------------------------------------------------------
def publish(result: dict, spec: RunSpec, out: Path, client_inputs: dict) -> Path | None:
    """Publish a worker's report files in ``out`` as a local run would; return the folder.

    Every file is checked against its sha256 and must have a plain name; the manifest is
    rewritten to name the client's params file, parameters, input files (``client_inputs``:
    path → sha256) and fingerprint as a local run writes them, and keeps the worker's record of outputs, timings and versions.  Returns
    None when the worker sent no files (the run failed before it had a report).
    """
    from .runner import (_check_same_wave, _manifest_paths, _publish, _remove_stale, _safe_dest, _Scratch,
                         fingerprint)

    files = result.get("files") or {}
    if not files:
        return None
    digests = result.get("sha256") or {}
    for name, data in files.items():
        if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name) or name.startswith(".") \
                or Path(name).name != name:
            raise RunError(f"the worker sent a report file with an unsafe name {name!r}")
        if hashlib.sha256(data).hexdigest() != digests.get(name):
            raise RunError(f"report file {name} arrived damaged (sha256 differs from the worker's)")
    try:
        manifest = json.loads(files["manifest.json"].decode("utf-8"))
    except (KeyError, ValueError) as exc:
        raise RunError(f"the worker's report has no readable manifest ({type(exc).__name__})") from None
    ok = result.get("status") == "ok" and manifest.get("status") == "ok"
    listed = manifest.get("output_sha256") or {}
    if ok and {k: v for k, v in digests.items() if k != "manifest.json"} != listed:
        raise RunError("the worker's report files differ from its manifest")
    source, shown_params, shown_inputs = _manifest_paths(spec, dict(spec.params), client_inputs)
    manifest.update(  # as a local run of the client writes them (paths relative, as runner shows them)
        params_file=source,
        parameters=shown_params,
        inputs=shown_inputs,
        fingerprint=fingerprint(spec.notebook, spec.params, client_inputs),
        executed_on={"worker": result.get("worker") or "", "shipped": True},
    )
    dest = _safe_dest(out, spec.params["study"], spec.run)
    _check_same_wave(dest, spec.params, spec.source)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(dest.parent, spec.run)
        scratch = _Scratch(dest.parent, spec.run)
    except OSError as exc:
        raise RunError(f"cannot write reports under {dest.parent}: {exc.strerror or exc}") from None
    final = dest if ok else dest.with_name(dest.name + ".failed")
    try:
        for name, data in files.items():
            if name != "manifest.json":
                atomic_write_bytes(scratch.path / name, data)
        atomic_write_text(scratch.path / "manifest.json",
                          json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        _publish(scratch.path, final)
    except BaseException as exc:
        scratch.discard()
        if isinstance(exc, OSError):
            raise RunError(f"cannot write the report under {dest.parent}: {exc.strerror or exc}") from None
        raise
    finally:
        scratch.release()
    return final
