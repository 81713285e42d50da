"""Persistence: SQLAlchemy Core tables, repositories, unit of work, outbox, migrations."""
