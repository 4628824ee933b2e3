"""The one low-base rule used by every table, chart and significance test.

An estimate whose effective base (Kish n_eff) is below ``caution`` is shown with a caution mark;
below ``min_test`` it is shown but never tested for significance.  The defaults (50 and 30) are
common practice in tracking research; studies override them in params (``low_base:``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LowBaseRule", "DEFAULT_RULE"]


@dataclass(frozen=True)
class LowBaseRule:
    """Thresholds on the effective base.

    Parameters
    ----------
    caution : float
        Effective bases below this are flagged "low base (caution)".
    min_test : float
        Effective bases below this get no significance test.
    """

    caution: float = 50.0
    min_test: float = 30.0

    def __post_init__(self):
        if not (self.caution >= self.min_test >= 0):
            raise ValueError(
                f"low_base: expected caution >= min_test >= 0, got caution={self.caution!r}, "
                f"min_test={self.min_test!r}"
            )

    def status(self, n_eff):
        """Return ``"ok"``, ``"caution"`` or ``"no_test"`` for each effective base."""
        n = np.asarray(n_eff, dtype=float)
        out = np.where(n < self.min_test, "no_test", np.where(n < self.caution, "caution", "ok"))
        return out if out.ndim else str(out)

    def testable(self, n_eff):
        """True where the effective base allows a significance test."""
        return np.asarray(n_eff, dtype=float) >= self.min_test


DEFAULT_RULE = LowBaseRule()
