"""Key findings of the waves analysis, written from results in English or Chinese."""

__all__: list[str] = []
