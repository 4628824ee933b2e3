"""Warm kernels: the next run's kernel starts, and imports the workbench, while this run exports.

A run spends seconds before its first cell: the kernel process starts (ipykernel, zmq) and the
notebook's first cell imports pandas, scipy, matplotlib and the workbench.  When more
runs are queued on the same worker (``workbench batch``, ``workbench demo``), :func:`prepare`
launches a fresh kernel for the next run as soon as this run's cells are done, so its start
and imports overlap this run's export (Chromium printing the PDF, the deck, the workbook).
The next run on the same thread takes it (:func:`manager_class`); every kernel still serves
one run and is shut down after it, so runs stay isolated.

Why hand-written: nbclient (through papermill) either starts its own kernel or uses a manager
it then does not clean up; neither jupyter_client nor nbclient keeps a pre-started kernel for
the next execution.  Here nbclient is given a kernel-manager class whose constructor hands out
the pre-started manager, so nbclient owns it and shuts it down and closes its channels as it
does for a kernel it started itself.

Where it can, the next kernel is not started and imported at all but forked from a process that
imported everything once per worker thread (:mod:`workbench.forkserver`): :func:`prepare` starts
that process the first time more runs are queued, and from then on every run's kernel, warm or
not, is a fork of it.

``WORKBENCH_WARM_KERNELS=0`` turns warm kernels and forking off (every run starts its own kernel
when it starts, as before); ``WORKBENCH_FORK_KERNELS=0`` only forking.  The batch benchmark
compares them.

A warm kernel is used only by the thread that prepared it, with the same environment
(os.environ) it was started in, and only within :data:`MAX_AGE_S`; anything else is shut down
and the run starts a kernel the usual way.  A kernel left unused at exit is shut down; one whose
parent dies exits by itself (ipykernel's parent poller).
"""
from __future__ import annotations

import atexit
import hashlib
import os
import subprocess
import threading
import time
from pathlib import Path

from . import forkserver

#: Modules a warm kernel imports before it reports ready: what the notebooks' first cells use,
#: whichever notebook comes next.  Not semopy: only the key-driver notebook fits a model (and
#: imports it when it does); on a busy machine a second of importing it before every other run
#: is a second taken from the run next to it.
WARM_IMPORTS = (
    "pandas", "numpy", "scipy.stats", "matplotlib.pyplot", "seaborn",
    "workbench.report", "workbench.plots", "workbench.narrative",
)
#: A warm kernel older than this is not used (its start-up context may have moved on).
MAX_AGE_S = 600.0
#: Seconds to wait for a warm kernel to answer before the run (start-up and imports included).
READY_TIMEOUT_S = 120.0

_lock = threading.Lock()
_warm: dict[int, tuple] = {}  # thread id -> (manager, cwd, environment digest, started)
_servers: dict[int, "forkserver.ForkServer"] = {}  # thread id -> its fork server
_handed = threading.local()
_CLASS = None


def _env_digest() -> str:
    items = sorted(os.environ.items())
    return hashlib.sha256(repr(items).encode("utf-8", "surrogatepass")).hexdigest()


def _quiet_base():
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        """Kernel process logs (TCP notices, shutdown chatter) stay quiet; cell output travels
        over the kernel's channels and is unaffected.  A manager given a fork server
        (``_wb_fork``) forks its kernel from it when the server takes this command and
        environment, and starts it the usual way otherwise."""

        _wb_fork = None
        _wb_forked = False

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw.setdefault("stderr", subprocess.DEVNULL)
            proc = _fork(self._wb_fork, kernel_cmd, kw)
            self._wb_forked = _handed.forked = proc is not None
            if proc is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            prov = self.provisioner  # the stock LocalProvisioner: connection file already written
            prov.process, prov.pid, prov.pgid = proc, proc.pid, proc.pid
            prov.cwd = kw.get("cwd") or os.getcwd()
            self._reconcile_connection_info(prov.connection_info)

    return QuietKernelManager


def _classes():
    """(the quiet manager class, the class nbclient is given), made on first use."""
    global _CLASS
    if _CLASS is None:
        base = _quiet_base()

        class WarmOrFreshKernelManager(base):
            def __new__(cls, *args, **kw):
                km = getattr(_handed, "km", None)
                if km is not None:
                    _handed.km = None
                    return km  # an instance of the base class: __init__ is not run again
                km = base(*args, **kw)
                with _lock:
                    km._wb_fork = _servers.get(threading.get_ident())
                return km

        _CLASS = (base, WarmOrFreshKernelManager)
    return _CLASS


def _fork(server, kernel_cmd, kw):
    """The kernel forked by ``server`` for this launch, or None to start it the usual way."""
    if server is None:
        return None
    parts = forkserver.split_kernel_cmd(kernel_cmd)
    env = kw.get("env") or dict(os.environ)
    if parts is None or not server.accepts(parts[0], env):
        return None
    return server.fork(parts[1], env, str(kw.get("cwd") or os.getcwd()))


def _server_for_thread(kernel_name: str, cwd: str):
    """This thread's fork server for ``kernel_name`` (started now if it has none, or one for
    another interpreter or environment), or None where kernels cannot be forked."""
    if not forkserver.enabled():
        return None
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except Exception:  # noqa: BLE001 - no such kernel: the run reports it when it starts one
        return None
    parts = forkserver.split_kernel_cmd(spec.argv)
    if parts is None:
        return None
    env = {**os.environ, **(spec.env or {})}
    tid = threading.get_ident()
    with _lock:
        server = _servers.get(tid)
        if server is not None and server.accepts(parts[0], env):
            return server
        if server is not None and server.pid is None and (server.failed or server.proc.poll() is not None):
            return None  # this thread's server never became ready: one try per thread, not per run
        old = _servers.pop(tid, None)
    if old is not None:
        old.close()
    try:
        server = forkserver.ForkServer(parts[0], env, cwd)
    except OSError:
        return None
    with _lock:
        _servers[tid] = server
    return server


def forked() -> bool:
    """Whether this thread's last kernel was forked from its fork server."""
    return bool(getattr(_handed, "forked", False))


def manager_class():
    """The kernel-manager class for nbclient: hands out this thread's warm kernel if there is
    one (see :func:`take`), else makes a fresh manager that starts its kernel as usual."""
    return _classes()[1]


def _run(coro_fn, *args, **kw):
    from jupyter_core.utils import run_sync

    return run_sync(coro_fn)(*args, **kw)


def enabled() -> bool:
    return os.environ.get("WORKBENCH_WARM_KERNELS", "1").strip().lower() not in ("0", "no", "false", "off")


def prepare(cwd: Path | str, *, kernel_name: str = "python3") -> bool:
    """Start this thread's next kernel now (launch only: it boots and imports on its own).

    Returns whether one was started (not when ``WORKBENCH_WARM_KERNELS=0``)."""
    if not enabled():
        return False
    km = _classes()[0](kernel_name=kernel_name)
    server = _server_for_thread(kernel_name, str(cwd))
    if server is not None:
        if not server.ready():
            return False  # it imports while this run exports; the next run's kernel is forked from it
        km._wb_fork = server
        extra = []
    else:
        code = ("import importlib as _wb_i\nfor _wb_m in %r: _wb_i.import_module(_wb_m)\ndel _wb_i, _wb_m"
                % (WARM_IMPORTS,))
        extra = [f"--IPKernelApp.exec_lines={[code]!r}"]
    try:
        _run(km.start_kernel, cwd=str(cwd), extra_arguments=extra)
    except Exception:  # noqa: BLE001 - no warm kernel: the next run starts one as usual
        return False
    with _lock:
        old = _warm.pop(threading.get_ident(), None)
        _warm[threading.get_ident()] = (km, str(cwd), _env_digest(), time.monotonic())
    if old is not None:
        _shutdown(old[0])
    return True


def take(cwd: Path | str) -> bool:
    """Hand this thread's warm kernel to the next :func:`manager_class` construction.

    Returns whether one was handed.  The kernel is moved to ``cwd`` first if it was started
    elsewhere; one that does not answer, was started with another environment or is too old is
    shut down instead."""
    with _lock:
        entry = _warm.pop(threading.get_ident(), None)
    _handed.km = None
    _handed.forked = False  # a kernel started for this run sets it again
    if entry is None:
        return False
    km, started_in, env, t0 = entry
    if env != _env_digest() or time.monotonic() - t0 > MAX_AGE_S:
        _shutdown(km)
        return False
    try:
        if not _run(km.is_alive):
            raise RuntimeError("warm kernel died")
        if str(cwd) != started_in:
            _run(_chdir, km, str(cwd))
    except Exception:  # noqa: BLE001 - the run starts a kernel the usual way
        _shutdown(km)
        return False
    _handed.km = km
    _handed.forked = km._wb_forked
    return True


def drop() -> None:
    """Shut down a handed kernel that was not used (the run failed before starting)."""
    km = getattr(_handed, "km", None)
    _handed.km = None
    if km is not None:
        _shutdown(km)


async def _chdir(km, cwd: str) -> None:
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=READY_TIMEOUT_S)
        reply = await kc.execute_interactive(f"import os as _wb_os; _wb_os.chdir({cwd!r}); del _wb_os",
                                             silent=True, store_history=False, timeout=READY_TIMEOUT_S)
        if reply["content"].get("status") != "ok":
            raise RuntimeError("the warm kernel could not change folder")
    finally:
        kc.stop_channels()


def _shutdown(km) -> None:
    try:
        _run(km.shutdown_kernel, now=True)
    except Exception:  # noqa: BLE001 - another thread's loop, a closed loop: end the process
        proc = getattr(getattr(km, "provisioner", None), "process", None)
        if proc is not None:
            try:
                proc.kill()
                proc.wait(timeout=5)
            except Exception:  # noqa: BLE001 - its parent poller ends it anyway
                pass


def shutdown_all() -> None:
    """Shut down every warm kernel not taken and every fork server (at exit)."""
    with _lock:
        entries = list(_warm.values())
        _warm.clear()
        servers = list(_servers.values())
        _servers.clear()
    for km, *_ in entries:
        _shutdown(km)
    for server in servers:
        server.close()


atexit.register(shutdown_all)
