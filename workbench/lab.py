"""Explore a run in JupyterLab without touching the notebook's defaults.

``workbench open -f params/acme/waves.yaml`` validates the params file exactly as ``workbench run``
does (:func:`workbench.config.load_params`), writes a parametrised copy of the notebook with
papermill's prepare-only mode (the ``parameters`` cell keeps the notebook's literal defaults;
papermill adds an ``injected-parameters`` cell after it holding the validated set) into the
git-ignored scratch folder ``notebooks/scratch/<study>/<run id>.ipynb``, and starts JupyterLab on
it.  The analyst edits and saves the copy; the notebook in ``notebooks/`` and the defaults that
``workbench params``, ``run`` and ``batch`` read stay as they are.

The injected cell also sets ``output_dir`` (the ``reports/<study>/interactive`` folder the Lab
uses anyway), so that :func:`workbench.report.setup` takes every injected value as given: in a
notebook without ``output_dir`` it treats values equal to the cell's demo defaults as "not
given" and derives them from the study, which would undo a value a params file set on purpose.

JupyterLab is started with the kernel's normal inline matplotlib backend (``MPLBACKEND`` is
removed from its environment: the Makefile and the tests set ``Agg`` for headless runs, and a
kernel started with it draws nothing in the Lab), with ``--allow-root`` when run as root (as in
many containers), and with a token of our own, so the URL printed before the server starts is
the one to open.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shlex
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import PROJECT_ROOT
from .config import RunSpec, load_params
from .errors import ParamsError

__all__ = ["SCRATCH", "Prepared", "LabCommand", "prepare", "lab_command", "launch", "lab_env"]

logging.getLogger("papermill").setLevel(logging.ERROR)  # see runner: its parameter-cell notices are noise

#: Where prepared copies go (git-ignored; inside the Lab's root folder, so they show in its browser).
SCRATCH = PROJECT_ROOT / "notebooks" / "scratch"
#: The folder ``make lab`` opens, and the Lab's root for prepared copies in :data:`SCRATCH`.
NOTEBOOKS = PROJECT_ROOT / "notebooks"
DEFAULT_PORT = 8888


@dataclass(frozen=True)
class Prepared:
    """A prepared copy: where it is, the validated run it holds, and what happened to it.

    ``status`` is ``"new"`` (written), ``"kept"`` (a copy with the same parameters was there and
    is reopened with the analyst's edits) or ``"replaced"`` (the parameters changed; the earlier
    copy was moved to ``backup``, or discarded with ``fresh``).
    """

    path: Path
    spec: RunSpec
    status: str
    backup: Path | None = None


def _interactive_dir(study: str) -> Path:
    return PROJECT_ROOT / "reports" / study / "interactive"


def _injected(path: Path) -> dict | None:
    """The parameters papermill injected into an existing prepared copy (None if unreadable)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        return nb["metadata"]["papermill"]["parameters"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def prepare(
    params_file: str | Path | None = None,
    *,
    notebook: str | Path | None = None,
    overrides: dict | None = None,
    trusted: bool = False,
    folder: str | Path | None = None,
    out: str | Path | None = None,
    fresh: bool = False,
) -> Prepared:
    """Write a parametrised copy of a notebook for the Lab; never edit the notebook itself.

    Parameters
    ----------
    params_file, notebook, overrides, trusted
        As for :func:`workbench.config.load_params` (the same checks as ``workbench run``).
    folder : path, optional
        Scratch folder (default :data:`SCRATCH`); the copy is ``<folder>/<study>/<run id>.ipynb``.
    out : path, optional
        Where the notebook's side files go (default ``reports/<study>/interactive``).
    fresh : bool
        Replace an existing copy even when its parameters are unchanged (its edits are lost).
        Without it, a copy with the same parameters is reopened as it is, and a copy with other
        parameters is kept beside the new one as ``<run id>.<timestamp>.ipynb``.
    """
    import papermill as pm

    spec = load_params(params_file, notebook=notebook, overrides=overrides, trusted=trusted)
    study = str(spec.params.get("study") or "study")
    dest_dir = Path(folder or SCRATCH) / study
    dest = dest_dir / f"{spec.run}.ipynb"
    side = Path(out) if out else _interactive_dir(study)
    params = {**spec.params, "output_dir": str(side.resolve())}
    status, backup = "new", None
    if dest.exists():
        same = _injected(dest) == json.loads(json.dumps(params))
        if same and not fresh:
            return Prepared(dest, spec, "kept")
        status = "replaced"
        if not fresh:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            backup = dest.with_name(f"{spec.run}.{stamp}.ipynb")
            n = 1
            while backup.exists():
                n += 1
                backup = dest.with_name(f"{spec.run}.{stamp}-{n}.ipynb")
            os.replace(dest, backup)
    dest_dir.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.{os.getpid()}.{secrets.token_hex(4)}.ipynb")
    try:
        pm.execute_notebook(str(spec.notebook), str(tmp), parameters=params, prepare_only=True,
                            kernel_name="python3", language="python", progress_bar=False)
        os.replace(tmp, dest)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        if backup is not None and not dest.exists():
            os.replace(backup, dest)
        if isinstance(exc, OSError):
            raise
        raise ParamsError(f"{spec.source}: could not prepare {spec.notebook.name} for the Lab: "
                          f"{type(exc).__name__}: {exc}") from exc
    return Prepared(dest, spec, status, backup)


# --------------------------------------------------------------------------------------------
# starting JupyterLab
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabCommand:
    """How to start JupyterLab: ``argv`` run in ``cwd`` with ``env``; ``url`` opens ``target``."""

    argv: list[str]
    cwd: Path
    env: dict = field(repr=False)
    url: str
    token: str = field(repr=False)

    def shell(self) -> str:
        """The command as one line for a shell (what ``--print-only`` shows)."""
        return (f"cd {shlex.quote(str(self.cwd))} && env -u MPLBACKEND "
                f"JUPYTER_TOKEN={shlex.quote(self.token)} {shlex.join(self.argv)}")


def lab_env(base: dict | None = None) -> dict:
    """The Lab's environment: ``base`` (default ``os.environ``) without ``MPLBACKEND``, so that
    its kernels use the inline backend ipykernel chooses when none is set."""
    env = dict(os.environ if base is None else base)
    env.pop("MPLBACKEND", None)
    return env


def _bind_host(ip: str) -> str:
    return "127.0.0.1" if ip in ("", "localhost") else "0.0.0.0" if ip in ("*", "0.0.0.0") else ip


def _port_free(ip: str, port: int) -> bool:
    try:
        with socket.socket(socket.AF_INET6 if ":" in _bind_host(ip) else socket.AF_INET) as s:
            s.bind((_bind_host(ip), port))
        return True
    except OSError:
        return False


def free_port(ip: str = "localhost", preferred: int = DEFAULT_PORT) -> int:
    """``preferred`` when nothing listens on it, else a port the system has free."""
    if _port_free(ip, preferred):
        return preferred
    with socket.socket(socket.AF_INET6 if ":" in _bind_host(ip) else socket.AF_INET) as s:
        s.bind((_bind_host(ip), 0))
        return s.getsockname()[1]


def lab_command(
    target: str | Path | None = None,
    *,
    ip: str = "localhost",
    port: int | None = None,
    browser: bool = True,
    token: str | None = None,
    root: bool | None = None,
    env: dict | None = None,
) -> LabCommand:
    """The command that serves ``target`` (a notebook, or a folder; default ``notebooks/``).

    The Lab's root folder is ``notebooks/`` when ``target`` is inside it, else ``target``'s own
    folder; ``--allow-root`` is added when ``root`` (default: running as root); the server keeps
    to ``port`` (no silent move to another), so the printed URL is right.
    """
    target = Path(target or NOTEBOOKS).resolve()
    if not target.exists():
        raise ParamsError(f"{target}: no such notebook or folder to open in JupyterLab")
    base = NOTEBOOKS.resolve()
    home = base if target.is_relative_to(base) else (target if target.is_dir() else target.parent)
    port = port or free_port(ip)
    token = token or secrets.token_hex(24)
    argv = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={home}",
            f"--ServerApp.ip={ip}", f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if root is None:
        root = hasattr(os, "geteuid") and os.geteuid() == 0
    if root:  # Jupyter refuses to start as root without it (containers often run as root)
        argv.append("--allow-root")
    if not browser:
        argv.append("--no-browser")
    if target != home:
        argv.append(str(target))
    rel = target.relative_to(home).as_posix() if target != home else ""
    host = "localhost" if ip in ("", "localhost", "*", "0.0.0.0", "::") else ip
    host = f"[{host}]" if ":" in host else host
    path = f"lab/tree/{rel}" if rel else "lab"
    url = f"http://{host}:{port}/{path}?token={token}"
    lab = lab_env(env)
    lab["JUPYTER_TOKEN"] = token
    return LabCommand(argv=argv, cwd=home, env=lab, url=url, token=token)


def launch(cmd: LabCommand) -> int:
    """Hand the process over to JupyterLab (it then owns Ctrl-C and its kernels)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(cmd.cwd)
    if os.name == "posix":
        os.execve(cmd.argv[0], cmd.argv, cmd.env)  # does not return
    import subprocess  # pragma: no cover - not POSIX

    return subprocess.call(cmd.argv, cwd=cmd.cwd, env=cmd.env)  # pragma: no cover
