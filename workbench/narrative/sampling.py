"""Key findings of the sampling analysis, written from results in English or Chinese."""

__all__: list[str] = []
