"""Key findings of the gaps analysis, written from results in English or Chinese."""

__all__: list[str] = []
