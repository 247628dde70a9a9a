"""The engine: no Textual, no rich — ever (a test proves it)."""
