"""Charts of the gaps analysis (one function per chart type)."""

__all__: list[str] = []
