"""finance-bot: a household's double-entry books, kept by chatting."""

__version__ = "0.1.0"
