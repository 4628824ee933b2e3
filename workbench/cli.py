"""The ``workbench`` command.

Exit codes: 0 success; 1 a run or check failed; 2 bad usage, parameters, codebook or data (every
input a user writes: the message names the file and the place); 3 unexpected error; 130
interrupted (Ctrl-C).  Errors print one paragraph; ``--debug`` shows the Python traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from . import PROJECT_ROOT, __version__
from .errors import CodebookError, DataError, ParamsError, WorkbenchError

__all__ = ["main", "cli"]

EXIT_FAILED, EXIT_USAGE, EXIT_UNEXPECTED = 1, 2, 3


def _formats(value: str) -> tuple[str, ...]:
    """``--formats``: names of :data:`workbench.formats.EXPORTERS`, comma-separated (exit 2 otherwise)."""
    from .formats import parse_formats

    try:
        return parse_formats(value)
    except ValueError as exc:
        raise click.BadParameter(f"--formats {value!r}: {exc}") from None


def _formats_help() -> str:
    from .formats import KNOWN_FORMATS

    return f"Report formats, comma-separated: {', '.join(KNOWN_FORMATS)}."


_FORMATS_HELP = _formats_help()


def _overrides(pairs) -> dict:
    from .config import parse_value

    for k, v in pairs:
        if "\x00" in k or "\x00" in v:
            raise click.BadParameter(f"-p {k!r}: contains a NUL character")
    return {k: parse_value(v) for k, v in pairs}


_SCHEME = ("tcp", "tls", "inproc", "ucx", "ws", "wss")


def _scheduler(ctx, param, value):
    """A dask scheduler address: ``[tcp|tls|...://]host:port``."""
    if value is None:
        return None
    import re

    m = re.fullmatch(r"(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(?P<port>\d{1,5})",
                     value.strip())
    if m is None or (m["scheme"] and m["scheme"] not in _SCHEME) or not 0 < int(m["port"]) < 65536:
        raise click.BadParameter(f"expected a dask scheduler address such as tcp://host:8786, got {value!r}")
    return value.strip() if m["scheme"] else f"tcp://{value.strip()}"


def _out_dir(ctx, param, value):
    if value is not None and "\x00" in value:
        raise click.BadParameter("contains a NUL character")
    return value


_TRUST = click.option("--trust-notebooks", "trusted", is_flag=True,
                      help="Let params files run notebooks outside the project's notebooks/ folder.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workbench")
@click.option("--debug", is_flag=True, help="Show Python tracebacks on errors.")
@click.pass_context
def cli(ctx, debug):
    """CX Workbench: parameterised CX research notebooks to client-ready reports."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.option("--out", type=click.Path(file_okay=False), default=None, callback=_out_dir,
              help="Output folder (default: reports/ in the project).")
@click.option("--formats", default="pdf,html", show_default=True, help=_FORMATS_HELP)
@click.option("--params-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder of params files to run (default: params/demo).")
@click.option("--jobs", type=click.IntRange(1, 32), default=None,
              help="Notebooks executed at once (default: the number of CPU cores).")
def demo(out, formats, params_dir, jobs):
    """Build the demo study and produce every demo deliverable."""
    import concurrent.futures
    import os

    from .config import load_params
    from .export import PDFRenderer
    from .formats import needs_renderer
    from .runner import run_spec
    from .synth import demo_dir

    fmts = _formats(formats)
    t0 = time.time()
    click.echo(f"Demo study data: {demo_dir()}")
    files = sorted(Path(params_dir or PROJECT_ROOT / "params" / "demo").glob("*.yaml"))
    if not files:
        raise ParamsError(f"no params files in {params_dir or 'params/demo'}")
    specs = [(f, load_params(f)) for f in files]  # every file is checked before anything runs
    jobs = jobs or os.cpu_count() or 2
    failed = []
    renderer = PDFRenderer() if needs_renderer(fmts) else None
    waiting = iter(range(len(specs) - 1, -1, -1))  # runs not yet started, counted as each starts
    left = [len(specs)]

    def one(item):
        f, spec = item
        left[0] = next(waiting)
        t1 = time.time()
        try:  # while runs wait, this thread's next kernel starts as this one exports
            res = run_spec(spec, out=out, formats=fmts, renderer=renderer, warm_next=lambda: left[0] > 0)
            return f, True, time.time() - t1, str(res.folder)
        except WorkbenchError as exc:
            return f, False, time.time() - t1, str(exc)

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for f, ok, secs, info in pool.map(one, specs):
                if ok:
                    click.echo(f"  ok      {f.name:<24} {secs:6.1f}s  {info}")
                else:
                    failed.append(f.name)
                    click.echo(f"  FAILED  {f.name:<24} {secs:6.1f}s  {info}", err=True)
    finally:
        if renderer is not None:
            renderer.close()
    click.echo(f"{len(files) - len(failed)} of {len(files)} reports built in {time.time() - t0:.1f}s")
    if failed:
        sys.exit(EXIT_FAILED)


@cli.command("run")
@click.argument("notebook", required=False)
@click.option("-f", "--params", "params_file", type=click.Path(), default=None,
              help="YAML params file.")
@click.option("-p", "--param", "pairs", nargs=2, multiple=True, metavar="KEY VALUE",
              help="Set one parameter (value parsed as YAML); repeatable.")
@click.option("--out", type=click.Path(file_okay=False), default=None, callback=_out_dir,
              help="Output folder (default: reports/ in the project).")
@click.option("--formats", default="pdf,html", show_default=True, help=_FORMATS_HELP)
@_TRUST
def run_cmd(notebook, params_file, pairs, out, formats, trusted):
    """Run NOTEBOOK with parameters and publish its report.

    NOTEBOOK may be left out when the params file names it (its `notebook:` key).
    """
    from .config import load_params
    from .runner import run_spec

    if notebook is None and params_file is None:
        raise click.UsageError("give a NOTEBOOK, or a params file (-f) whose `notebook:` key names one")
    fmts, overrides = _formats(formats), _overrides(pairs)
    spec = load_params(params_file, notebook=notebook, overrides=overrides, trusted=trusted)
    res = run_spec(spec, out=out, formats=fmts)
    click.echo(f"ok  {res.run}  {res.seconds:.1f}s")
    for kind, path in res.files.items():
        click.echo(f"    {kind:<8} {path}")


@cli.command()
@click.argument("patterns", nargs=-1, required=True)
@click.option("--out", type=click.Path(file_okay=False), default=None, callback=_out_dir,
              help="Output folder (default: reports/ in the project).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Workers of the local dask cluster.")
@click.option("--scheduler", default=None, metavar="ADDRESS", callback=_scheduler,
              help="Use an existing dask cluster, e.g. tcp://host:8786.")
@click.option("--shared-disk/--no-shared-disk", default=None,
              help="Whether the --scheduler's workers see this machine's files at the same paths "
                   "(default: no, so each run's notebook, parameters and inputs are sent to its worker "
                   "and the report comes back; WORKBENCH_SHARED_DISK=1 sets yes).")
@click.option("--formats", default="pdf,html", show_default=True, help=_FORMATS_HELP)
@click.option("--retries", type=click.IntRange(0, 10), default=0, show_default=True,
              help="Retries of a failed run.")
@click.option("--force", is_flag=True, help="Run even when inputs and parameters are unchanged.")
@click.option("--log", type=click.Path(dir_okay=False), default=None,
              help="JSON Lines run log (default: <out>/batch-log.jsonl).")
@click.option("--no-progress", is_flag=True, help="No progress bar (e.g. under cron).")
@_TRUST
def batch(patterns, out, workers, scheduler, shared_disk, formats, retries, force, log, no_progress, trusted):
    """Run every params file matched by PATTERNS (globs allowed; quote them) on dask."""
    from .batch import run_batch

    t0 = time.time()
    try:
        records = run_batch(patterns, out=out, workers=workers, scheduler=scheduler,
                            formats=_formats(formats), retries=retries, force=force, log=log,
                            progress=not no_progress, trusted=trusted, shared_disk=shared_disk)
    except KeyboardInterrupt as exc:
        done = [r for r in getattr(exc, "records", []) if r["status"] != "interrupted"]
        if done:
            _summary(done, t0)
        raise
    counts = _summary(records, t0)
    if counts["failed"]:
        sys.exit(EXIT_FAILED)


def _summary(records, t0) -> dict:
    width = max(len(r["params_file"]) for r in records)
    click.echo(f"\n{'params file':<{width}}  {'status':<8} {'seconds':>8}  output / error")
    for r in records:
        tail = r["folder"] if r["status"] != "failed" else (r["error"] or "").splitlines()[0]
        click.echo(f"{r['params_file']:<{width}}  {r['status']:<8} {r['seconds']:>8.1f}  {tail}")
    counts = {s: sum(r["status"] == s for r in records) for s in ("ok", "skipped", "failed")}
    click.echo(f"{counts['ok']} ok, {counts['skipped']} skipped (unchanged), {counts['failed']} failed "
               f"in {time.time() - t0:.1f}s")
    return counts


@cli.command()
@click.argument("params_files", nargs=-1, required=True, type=click.Path())
@click.option("-p", "--param", "pairs", nargs=2, multiple=True, metavar="KEY VALUE",
              help="Set one parameter (value parsed as YAML); repeatable.")
@_TRUST
def validate(params_files, pairs, trusted):
    """Check params files and the data they name, without running anything."""
    from .config import load_params
    from .validate import check_inputs

    bad = 0
    for f in params_files:
        try:
            if Path(f).name == "codebook.yaml":  # a study's codebook beside its params files
                from .codebook import load_codebook

                cb = load_codebook(f)
                click.echo(f"ok  {f}  (codebook; {len(cb.datasets)} datasets, {len(cb.questions)} questions)")
                continue
            spec = load_params(f, overrides=_overrides(pairs), trusted=trusted)
            checked = check_inputs(spec.params, spec.notebook.stem, source=spec.source)
            click.echo(f"ok  {f}  ({spec.notebook.name}; {checked})")
        except WorkbenchError as exc:
            bad += 1
            click.echo(f"FAILED  {f}\n{exc}", err=True)
    if bad:
        sys.exit(EXIT_USAGE)


@cli.command("init")
@click.argument("study")
@click.option("--data", "files", multiple=True, required=True, type=click.Path(), metavar="FILE",
              help="Data file (.csv, .xlsx, .parquet, .sav); repeat for each file of the study.")
@click.option("--client", default=None, help="Client name on the report covers (default: STUDY).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the reports.")
@click.option("--force", is_flag=True, help="Overwrite an existing codebook and params files.")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="Project folder holding params/ (default: this checkout).")
def init_cmd(study, files, client, lang, force, root):
    """Draft params/STUDY/codebook.yaml and params files from the study's data files.

    Every guess (types, scales, missing codes, personal data, roles) is listed with what to
    confirm; the data stay where they are. Walk-through: docs/byod.md.
    """
    from .byod import init_study, report_lines

    try:
        res = init_study(study, files, root=root, force=force, client=client, lang=lang)
    except ParamsError:
        raise
    except WorkbenchError as exc:  # an unreadable data file is a usage error here (exit 2)
        raise ParamsError(str(exc)) from exc
    for line in report_lines(res, root):
        click.echo(line)


@cli.command()
@click.argument("notebook")
def params(notebook):
    """List NOTEBOOK's parameters with type, default and help."""
    from .config import notebook_parameters

    rows = notebook_parameters(notebook)
    width = max(len(k) for k in rows) if rows else 10
    for name, spec in rows.items():
        if name == "output_dir":
            continue
        typ = getattr(spec["type"], "__name__", None) or str(spec["type"]).replace("typing.", "")
        typ = "any" if typ == "Any" else typ
        extra = f"  [one of: {', '.join(spec['choices'])}]" if spec["choices"] else ""
        click.echo(f"{name:<{width}}  {typ:<5}  default {spec['default']!r}{extra}")
        if spec["help"]:
            click.echo(f"{'':<{width}}         {spec['help']}")


@cli.command("open")
@click.argument("notebook", required=False)
@click.option("-f", "--params", "params_file", type=click.Path(), default=None,
              help="YAML params file whose run to explore.")
@click.option("-p", "--param", "pairs", nargs=2, multiple=True, metavar="KEY VALUE",
              help="Set one parameter (value parsed as YAML); repeatable.")
@click.option("--fresh", is_flag=True, help="Prepare the copy again even if one with these parameters exists.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser (print the URL only).")
@click.option("--print-only", is_flag=True, help="Prepare the copy and print the command and URL; start nothing.")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port of the Lab (default: 8888, or a free one).")
@click.option("--ip", default="localhost", show_default=True,
              help="Address the Lab listens on (0.0.0.0 to reach it from outside a container).")
@click.option("--trust-notebooks", "trusted", is_flag=True,
              help="Let the params file name a notebook outside the project's notebooks/ folder.")
def open_cmd(notebook, params_file, pairs, fresh, no_browser, print_only, port, ip, trusted):
    """Open a parametrised copy of a notebook in JupyterLab.

    With a params file (-f) or a NOTEBOOK, the parameters are checked as for `workbench run` and
    written into a copy in notebooks/scratch/ (git-ignored), which the Lab opens: exploring and
    saving never change the notebook's defaults.  With neither, the Lab opens notebooks/.
    """
    from .lab import lab_command, launch, prepare

    target = None
    if notebook is not None or params_file is not None or pairs:
        if notebook is None and params_file is None:
            raise click.UsageError("-p needs a NOTEBOOK or a params file (-f)")
        prep = prepare(params_file, notebook=notebook, overrides=_overrides(pairs), trusted=trusted,
                       fresh=fresh)
        target = prep.path
        shown = prep.path.relative_to(PROJECT_ROOT) if prep.path.is_relative_to(PROJECT_ROOT) else prep.path
        what = {"new": "prepared", "kept": "reopened (same parameters; your edits are kept, --fresh "
                "starts again)", "replaced": "prepared again"}[prep.status]
        click.echo(f"{shown}: {what} from {prep.spec.source}; {prep.spec.notebook.name} is unchanged")
        if prep.backup is not None:
            click.echo(f"    the copy with the earlier parameters is kept as {prep.backup.name}")
    cmd = lab_command(target, ip=ip, port=port, browser=not no_browser)
    if print_only:
        click.echo(cmd.shell())
        click.echo(cmd.url)
        return
    click.echo(f"JupyterLab: {cmd.url}\n(Ctrl-C twice stops it)")
    sys.exit(launch(cmd))


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that runs clean up (scratch folders, workers) on the way out."""


def _on_signal(signum, frame):
    import signal

    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


_previous_unraisablehook = sys.__unraisablehook__


def _rearm_lost_interrupt(unraisable):
    """``sys.unraisablehook``: a stop signal whose exception Python had to swallow is raised again.

    A signal's exception is raised in whatever Python code runs when it arrives; when that is a
    weakref callback or a ``__del__`` (garbage collection inside the kernel client's wait loop),
    Python prints "Exception ignored" and carries on, so the run would go on to the end and exit 0.
    The hook re-delivers the signal to the main thread's handler at its next instruction instead.
    """
    import _thread
    import signal
    import threading

    exc = unraisable.exc_value
    if isinstance(exc, KeyboardInterrupt):  # from another thread, so it lands after this hook returns
        sig = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        threading.Timer(0.05, _thread.interrupt_main, args=(sig,)).start()
        return
    _previous_unraisablehook(unraisable)


def main(argv=None) -> int:
    """Entry point; turns errors into one-paragraph messages and exit codes."""
    import signal
    import threading

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    global _previous_unraisablehook
    old = {}
    old_hook = sys.unraisablehook
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            old[sig] = signal.signal(sig, _on_signal)
        if "batch" not in args:  # batch: dask's own finalisers report the interrupt it is handling
            _previous_unraisablehook = old_hook
            sys.unraisablehook = _rearm_lost_interrupt
    try:
        return _main(args, debug)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        sys.unraisablehook = old_hook


def _main(args, debug) -> int:
    try:
        cli.main(args=args, prog_name="workbench", standalone_mode=False)
        return 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except click.exceptions.Abort as exc:  # click turns Ctrl-C (and our SIGTERM) into Abort
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            click.echo("terminated" if isinstance(cause, Terminated) else "interrupted", err=True)
            return 143 if isinstance(cause, Terminated) else 130
        click.echo("aborted", err=True)
        return EXIT_FAILED
    except (ParamsError, CodebookError, DataError) as exc:  # inputs: the user can fix them
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return EXIT_USAGE
    except WorkbenchError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        click.echo("terminated" if isinstance(exc, Terminated) else "interrupted", err=True)
        return 143 if isinstance(exc, Terminated) else 130
    except OSError as exc:  # the file system said no: say which file and why, in words
        if debug:
            raise
        click.echo(f"error: {_os_error(exc)}", err=True)
        return EXIT_USAGE if exc.errno in _INPUT_ERRNOS else EXIT_FAILED
    except ValueError as exc:
        if debug:
            raise
        if "null byte" not in str(exc):
            return _unexpected(exc)
        click.echo("error: a path contains a NUL character", err=True)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - last line of defence for a CLI
        if debug:
            raise
        return _unexpected(exc)


def _unexpected(exc) -> int:
    click.echo(f"unexpected error: {type(exc).__name__}: {exc}\n(run again with --debug for "
               "the traceback, and please report it)", err=True)
    return EXIT_UNEXPECTED


def _os_error(exc: OSError) -> str:
    import errno

    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"no space left on the disk{where}; free some space and run again"
    if exc.errno == errno.EDQUOT:
        return f"disk quota exceeded{where}; free some space and run again"
    return f"{exc.strerror or exc}{where}"


_INPUT_ERRNOS = {2, 13, 20, 21, 36, 40}  # ENOENT, EACCES, ENOTDIR, EISDIR, ENAMETOOLONG, ELOOP


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
