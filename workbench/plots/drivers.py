"""Charts of the drivers analysis (one function per chart type)."""

__all__: list[str] = []
