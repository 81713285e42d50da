"""The access token of a server under test: every client authenticates for real
(auth is on by default) by reading the token the server made in its data directory."""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path

import httpx

from scripter.adapters.access_token import token_path


def read_token(data_dir: Path, wait: float = 0.0) -> str:
    """The token in ``data_dir``; waits up to ``wait`` seconds for a server that is
    still starting to make it."""
    path = token_path(data_dir)
    deadline = time.monotonic() + wait
    while True:
        try:
            token = path.read_text().strip()
        except FileNotFoundError:
            token = ""
        if token or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    assert token, f"no access token in {path}"
    return token


def auth_headers(data_dir: Path, wait: float = 0.0) -> dict[str, str]:
    return {"Authorization": f"Bearer {read_token(data_dir, wait)}"}


class TokenFromFile(httpx.Auth):
    """Sends the token found in ``data_dir`` at each request: a client made before
    the server finished starting (or after a rotation) still authenticates."""

    def __init__(self, data_dir: Path, wait: float = 10.0) -> None:
        self.data_dir = data_dir
        self.wait = wait

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {read_token(self.data_dir, self.wait)}"
        yield request
