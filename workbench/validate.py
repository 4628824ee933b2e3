"""Check a run's inputs without running it: the codebook, every dataset it names, path parameters,
and every parameter against the codebook, the data and the model (:mod:`workbench.study`).

Columns that look like personal data (:func:`workbench.io.likely_pii`) but are not flagged in the
codebook are named in the summary, so they are settled before a report is built."""

from __future__ import annotations

from pathlib import Path

from .config import _is_path_key
from .errors import DataError, ParamsError

__all__ = ["check_inputs"]


def check_inputs(params: dict, notebook: str | None = None, *, source: str = "<parameters>") -> str:
    """Read the codebook and every dataset it lists (validating each); check other paths exist;
    with ``notebook``, check every parameter against codebook, data and model.

    Returns a one-line summary; raises :class:`CodebookError` or :class:`DataError` naming the
    file and what is wrong, or :class:`ParamsError` listing every problem of the parameters.
    """
    if notebook is not None:
        from .study import check_params

        problems = check_params(notebook, params)
        if problems:
            raise ParamsError("\n".join(f"{source}: {p}" for p in problems))
    from .codebook import load_codebook
    from .io import read_survey

    cb = load_codebook(params.get("codebook", "demo"))
    data = params.get("data", "demo")
    if data == "demo":
        from .synth import demo_dir

        folder = demo_dir()
    else:
        folder = Path(data)
        if not folder.is_dir():
            raise DataError(f"data folder {folder} does not exist (parameter 'data')")
    from .io import likely_pii

    rows = 0
    suspects = []
    for name, ds in cb.datasets.items():
        path = folder / ds.file
        if not path.exists():
            raise DataError(f"{path}: dataset {name!r} named by codebook {cb.source} is missing")
        frame = read_survey(path, cb, dataset=name)
        rows += len(frame)
        suspects += [f"{name}.{col} ({why})" for col, why in likely_pii(frame, cb).items()]
    for key, value in params.items():
        if key in ("data", "codebook") or not _is_path_key(key) or not value or value == "demo":
            continue
        if not Path(value).exists():
            raise DataError(f"{value} does not exist (parameter {key!r})")
    summary = f"codebook and {len(cb.datasets)} datasets valid, {rows:,} rows"
    if suspects:  # masked in reports and kept out of side files until the codebook says which it is
        summary += (f"; likely personal data the codebook does not flag: {', '.join(suspects)} — mark "
                    f"each `pii: true` (masked) or `pii: false` (declared safe) in {cb.source}")
    return summary
