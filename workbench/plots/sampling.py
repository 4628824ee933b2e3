"""Charts of the sampling analysis (one function per chart type)."""

__all__: list[str] = []
