"""Charts for the reports: one theme (CJK-capable), one function per chart type.

The theme and shared pieces are in ``_theme``; each analysis area keeps its charts in its own
module, and every public chart is available here as ``workbench.plots.<name>``.
"""

from ._theme import *  # noqa: F401,F403
from ._theme import __all__ as _theme_all
from .drivers import *  # noqa: F401,F403
from .drivers import __all__ as _drivers_all
from .gaps import *  # noqa: F401,F403
from .gaps import __all__ as _gaps_all
from .sampling import *  # noqa: F401,F403
from .sampling import __all__ as _sampling_all
from .waves import *  # noqa: F401,F403
from .waves import __all__ as _waves_all

__all__ = [*_theme_all, *_sampling_all, *_waves_all, *_drivers_all, *_gaps_all]
