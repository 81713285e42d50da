"""Scripter: run Python scripts in Docker, now or on a cron schedule."""

__version__ = "0.1.0"
