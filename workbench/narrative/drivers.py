"""Key findings of the drivers analysis, written from results in English or Chinese."""

__all__: list[str] = []
