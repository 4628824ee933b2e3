"""Charts of the waves analysis (one function per chart type)."""

__all__: list[str] = []
