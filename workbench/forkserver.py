"""Kernels forked from a process that has already imported pandas, scipy, matplotlib and the workbench.

A run's kernel used to spend about four CPU-seconds before its first cell: the interpreter and
ipykernel start, then the first cell imports pandas, scipy.stats, matplotlib, seaborn and the
workbench.  Warm kernels (:mod:`workbench.kernels`) moved that work next to the previous run's
export, but when every core is busy (two runs on two cores) moved work is still work.  Here one
process per worker thread, the *fork server*, imports all of it once; each run's kernel is a
fresh ``fork()`` of it, started exactly as ``python -m ipykernel_launcher -f <connection file>``
would start it.  Every run still has a process of its own (what one run changes in its modules,
the next never sees: the server itself runs no cell), started in the run's folder with the run's
environment.

Why hand-written: jupyter_client launches every kernel with ``subprocess.Popen``; neither
Jupyter, ipykernel nor papermill has a forking launcher, and multiprocessing's forkserver starts
functions, not kernels nobody waits for.  The jupyter_client side stays the stock
``LocalProvisioner``: only its process object is a :class:`ForkedKernel` (poll, wait, signal and
kill by a pidfd, so a recycled process id is never signalled) instead of a ``Popen``.

The server speaks JSON lines over its own stdin/stdout pipes (no socket, nothing another user
can reach): it answers ``{"ready": pid}`` once imported, then ``{"pid": N}`` for each
``{"argv": [...], "env": {...}, "cwd": "..."}`` it forks.  It ends when its client's end of the
pipe closes (the client exited or was killed); the kernels it forked then see their parent gone
and end too (ipykernel's parent poller).  Forking is used only on Linux with pidfds, and only for
a kernel command ``<this interpreter> [-X options] -m ipykernel_launcher ...``; anything else, or a
server that does not answer in time, starts the kernel the usual way.

``WORKBENCH_FORK_KERNELS=0`` turns forking off (warm kernels then start and import as before;
the batch benchmark compares both).
"""
from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import time

#: What the server imports before it forks its first kernel: everything the notebooks' cells
#: import, so a forked kernel imports nothing the server has not.
PRELOAD = (
    "pandas", "numpy", "scipy.stats", "scipy.optimize", "matplotlib.pyplot", "seaborn", "semopy",
    "workbench.report", "workbench.plots", "workbench.narrative", "workbench.io",
    "workbench.sampling", "workbench.waves", "workbench.drivers", "workbench.gaps", "workbench.tabs",
    "workbench.verbatims",
)
#: Seconds to wait for the server to import (once per worker) and to answer a fork.
READY_TIMEOUT_S = 120.0
FORK_TIMEOUT_S = 30.0
#: The inline backend ipykernel itself selects when MPLBACKEND is not set; the server selects it
#: the same way before importing matplotlib, which reads MPLBACKEND when imported.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def enabled() -> bool:
    return (os.environ.get("WORKBENCH_FORK_KERNELS", "1").strip().lower() not in ("0", "no", "false", "off")
            and sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(os, "fork"))


def env_digest(env) -> str:
    """The environment a kernel sees, without the variables jupyter_client sets per launch."""
    items = sorted((k, v) for k, v in env.items() if not k.startswith("JPY_"))
    return hashlib.sha256(repr(items).encode("utf-8", "surrogatepass")).hexdigest()


def split_kernel_cmd(cmd) -> tuple[list[str], list[str]] | None:
    """``(interpreter with its options, kernel arguments)`` of a ``python -m ipykernel_launcher``
    command, or None for any other command."""
    cmd = [str(c) for c in cmd]
    for i in range(1, len(cmd) - 1):
        if cmd[i] == "-m" and cmd[i + 1] == "ipykernel_launcher":
            if all(a.startswith("-X") for a in cmd[1:i]):
                return cmd[:i], cmd[i + 2:]
            return None
        if not cmd[i].startswith("-X"):
            return None
    return None


class ForkedKernel:
    """A ``Popen``-like handle on a kernel forked by the server (not this process's child)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None
        try:
            self._fd = os.pidfd_open(pid)
        except OSError:  # already gone
            self._fd = None
            self.returncode = 1

    def poll(self):
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            self._close(1)  # exited; its status went to the server, which reaped it
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            select.select([self._fd], [], [], 0.5 if left is None else min(left, 0.5))
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            signal.pidfd_send_signal(self._fd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def _close(self, code: int) -> None:
        self.returncode = code
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass


class ForkServer:
    """One server process (started at construction; it imports on its own) and its pipes."""

    def __init__(self, interpreter: list[str], env: dict, cwd: str | None = None):
        self.interpreter = list(interpreter)
        self.digest = env_digest(env)
        self._buf = b""
        self.pid = None
        self.failed = False
        self.proc = subprocess.Popen(
            # -P: the folder it starts in is not searched for modules (a workbench/ folder next to
            # a notebook cannot stand in for the package)
            [*self.interpreter, "-P", "-m", "workbench.forkserver"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(env), cwd=cwd,
            start_new_session=True)  # a Ctrl-C meant for the client does not end it mid-fork

    def accepts(self, interpreter, env) -> bool:
        return (not self.failed and self.proc.poll() is None and list(interpreter) == self.interpreter
                and env_digest(env) == self.digest)

    def ready(self, timeout: float = 0.0) -> bool:
        """Whether the server has imported everything (waits at most ``timeout`` seconds)."""
        if self.pid is None and not self.failed:
            msg = self._read(timeout)
            if msg is not None:
                if isinstance(msg.get("ready"), int):
                    self.pid = msg["ready"]
                else:
                    self.close()
        return self.pid is not None and not self.failed

    def fork(self, args: list[str], env: dict, cwd: str) -> ForkedKernel | None:
        """A kernel forked with these ``ipykernel_launcher`` arguments, or None (the caller then
        starts the kernel the usual way; a server that failed once is not asked again)."""
        if not self.ready(READY_TIMEOUT_S):
            return None
        try:
            line = json.dumps({"argv": list(args), "env": dict(env), "cwd": str(cwd)}) + "\n"
            self.proc.stdin.write(line.encode("utf-8", "surrogatepass"))
            self.proc.stdin.flush()
            msg = self._read(FORK_TIMEOUT_S)
        except (OSError, ValueError):
            msg = None
        if msg is None or not isinstance(msg.get("pid"), int):
            self.close()
            return None
        return ForkedKernel(msg["pid"])

    def _read(self, timeout: float) -> dict | None:
        """The server's next message; None (and the server closed) when it failed or timed out."""
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = end - time.monotonic()
            if not select.select([fd], [], [], max(left, 0))[0]:
                if left > 0:
                    continue
                if timeout > 0:
                    self.close()
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                self.close()
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            msg = json.loads(line)
        except ValueError:
            self.close()
            return None
        return msg if isinstance(msg, dict) else None

    def close(self) -> None:
        """End the server (its forked kernels belong to their managers and end with them)."""
        self.failed = True
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


# --- the server process ---------------------------------------------------------------------

def _reap(*_):
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _child(req: dict, server_pid: int, out_fd: int) -> None:
    """In the forked process: become the kernel ``python -m ipykernel_launcher`` would start.
    Never returns."""
    code = 1
    try:
        os.setsid()  # its own process group, as jupyter_client gives a kernel (interrupts, kill)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.close(out_fd)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # the server's pipes are not the kernel's (cell output goes over zmq)
            os.dup2(null, fd)
        os.close(null)
        os.environ.clear()
        os.environ.update(req["env"])
        os.environ["JPY_PARENT_PID"] = str(server_pid)  # the parent it sees; ends when it goes
        os.chdir(req["cwd"])
        # ipykernel read JPY_PARENT_PID when the server imported it: say it again, so the kernel
        # watches the server and ends when the server goes
        argv = [*req["argv"], f"--IPKernelApp.parent_handle={server_pid}"]
        sys.argv = [sys.executable, *argv]
        if "numpy" in sys.modules:  # each kernel its own unseeded random stream, as a fresh one
            sys.modules["numpy"].random.seed()
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the kernel could not start: its manager sees it die
        code = 1
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()  # what a kernel's interpreter runs at exit (history, logging)
        finally:
            os._exit(code)


def serve() -> None:
    """The server's main loop (``python -m workbench.forkserver``)."""
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher: the kernel adds its folder back itself
    out_fd = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)  # an import that prints cannot corrupt the answers
    os.close(null)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    import importlib

    import ipykernel.kernelapp  # noqa: F401 - what every kernel starts with

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a kernel imports it itself (and reports the error there)
            pass
    signal.signal(signal.SIGCHLD, _reap)
    _reap()

    def say(msg: dict) -> None:
        os.write(out_fd, (json.dumps(msg) + "\n").encode())

    say({"ready": os.getpid()})
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            return  # the client is gone
        try:
            req = json.loads(line)
            if not (isinstance(req, dict) and isinstance(req.get("argv"), list)
                    and isinstance(req.get("env"), dict) and isinstance(req.get("cwd"), str)):
                raise ValueError("bad request")
        except ValueError:
            say({"error": "bad request"})
            continue
        pid = os.fork()
        if pid == 0:
            _child(req, os.getppid(), out_fd)
        say({"pid": pid})


if __name__ == "__main__":
    serve()
