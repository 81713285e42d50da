"""An unexpected exception in a handler: a 500 ``application/problem+json`` body that
says nothing of the cause (no SQL, no paths, no traceback); the log has it all."""

from __future__ import annotations

import logging
from pathlib import Path

from litestar.testing import AsyncTestClient

from scripter.bootstrap import Role, bootstrap
from scripter.http.app import create_app
from scripter.http.problems import PROBLEM_JSON
from tests.integration.app_fixtures import make_test_config


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.text = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.text += self.format(record) + "\n"


async def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # A database never migrated: every query fails with an error the handlers do not
    # expect (sqlite3.OperationalError, "no such table: images"), a real one.
    config = make_test_config(data, SCRIPTER_AUTH_ENABLED="false")
    app = create_app(bootstrap(config), roles={Role.API}, migrate=False)
    # On the module's own logger: making the Litestar app replaced the root logger's
    # handlers, pytest's caplog among them.
    log = Recorder()
    logging.getLogger("scripter.http.problems").addHandler(log)
    try:
        async with AsyncTestClient(app) as client:
            response = await client.get("/api/images")
    finally:
        logging.getLogger("scripter.http.problems").removeHandler(log)

    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal server error",
        "status": 500,
        "detail": "An unexpected error occurred; see the server log.",
    }
    for secret in ("no such table", "OperationalError", "SELECT", "Traceback", str(tmp_path)):
        assert secret not in response.text
    # What the body keeps back, the operator finds in the log.
    assert "unhandled error on GET /api/images" in log.text
    assert "no such table: images" in log.text
