"""Exceptions and warnings of the workbench.

Every error names the file, key, column or row at fault, what was expected and what was found.
Statistical conditions that do not stop a run are warnings; the report shows them in plain words.
"""

from .i18n import t

__all__ = [
    "WorkbenchError",
    "ParamsError",
    "CodebookError",
    "DataError",
    "ModelError",
    "RunError",
    "ExportError",
    "WorkbenchWarning",
    "LowBaseWarning",
    "ConvergenceWarning",
    "PIIWarning",
]


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose."""


class ParamsError(WorkbenchError):
    """A parameter file or parameter value is invalid."""


class CodebookError(WorkbenchError):
    """A codebook is malformed or refers to something that does not exist."""


class DataError(WorkbenchError):
    """Survey or frame data do not match what the codebook or the call expects."""


class ModelError(WorkbenchError):
    """A statistical model cannot be specified, identified or fitted."""


class RunError(WorkbenchError):
    """A notebook run failed."""


class ExportError(WorkbenchError):
    """A report could not be exported (PDF or HTML)."""


class WorkbenchWarning(UserWarning):
    """Base class of the workbench's statistical warnings.

    ``key`` names a label in ``workbench/data/i18n/*.yaml`` and ``fields`` fill it, so a report
    shows the caution in its own language; the message is the English text for everyone else::

        warnings.warn(LowBaseWarning("Low base: Delta (n_eff 41)", key="waves.lowbase",
                                     groups="Delta (n_eff 41)"))
    """

    def __init__(self, message: str = "", *, key: str | None = None, **fields):
        super().__init__(message)
        self.key = key
        self.fields = fields

    def text(self, lang: str = "en") -> str:
        """The warning in ``lang`` when it has a label key, else its message."""
        if self.key:
            try:
                return t(self.key, lang, **self.fields)
            except (KeyError, IndexError):
                pass
        return str(self)


class LowBaseWarning(WorkbenchWarning):
    """An estimate rests on an effective base below the low-base rule."""


class ConvergenceWarning(WorkbenchWarning):
    """An iterative fit stopped before reaching its tolerance."""


class PIIWarning(WorkbenchWarning):
    """Columns look like personal data the codebook does not flag; they were masked."""
