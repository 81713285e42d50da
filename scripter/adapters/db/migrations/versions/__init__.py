"""Alembic revisions (Alembic skips this file); a package so setuptools ships them."""
