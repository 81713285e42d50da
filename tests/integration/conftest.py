"""Fixtures shared by the integration tests (defined in app_fixtures.py)."""

from tests.integration.app_fixtures import api_only_app, app

__all__ = ["api_only_app", "app"]
