"""A full data directory is answered with a clear 507 problem, not an opaque 500."""

from __future__ import annotations

import errno

from litestar import get
from litestar.testing import create_test_client

from scripter.http.problems import EXCEPTION_HANDLERS, PROBLEM_JSON


@get("/full", sync_to_thread=False)
def full() -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@get("/broken", sync_to_thread=False)
def broken() -> None:
    raise OSError(errno.EIO, "Input/output error")


def test_a_full_disk_is_a_507_problem_and_other_os_errors_stay_500s():
    with create_test_client([full, broken], exception_handlers=EXCEPTION_HANDLERS) as client:
        response = client.get("/full")
        assert response.status_code == 507
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        body = response.json()
        assert body["title"] == "Insufficient storage"
        assert "disk is full" in body["detail"] and "nothing was saved" in body["detail"]
        response = client.get("/broken")
        assert response.status_code == 500
        assert "Input/output" not in response.text  # leaks nothing
