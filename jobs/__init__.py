"""Scheduled job entry points: thin functions that wire configuration and call the engine."""
