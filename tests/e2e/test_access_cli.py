"""The access token from the command line: printed with a link on the first start
only, shown and rotated by ``scripter token``, and the warning when auth is off on
an address others can reach."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from scripter.adapters.access_token import token_path
from tests.e2e.test_cli import START_TIMEOUT, STOP_TIMEOUT, _env, _free_port, scripter

LINK = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+)")


def run_api(tmp_path: Path, *args: str, **env: str) -> str:
    """Start ``scripter api``, wait until it serves, stop it; its stderr."""
    data = tmp_path / "data"
    log = tmp_path / f"stderr-{time.monotonic_ns()}.log"
    port = _free_port()
    command = [sys.executable, "-m", "scripter", "api", "--port", str(port), *args]
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=_env(SCRIPTER_DATA_DIRECTORY=str(data), **env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "Application startup complete" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.status_code in (200, 503)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=STOP_TIMEOUT) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return log.read_text()


def test_first_start_prints_a_login_link_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = run_api(tmp_path)

    token = token_path(data).read_text().strip()
    assert token_path(data).stat().st_mode & 0o777 == 0o600
    links = LINK.findall(first)
    assert len(links) == 1, first
    assert links[0][1] == token
    assert str(token_path(data)) in first

    second = run_api(tmp_path)
    assert token not in second, second
    assert "?token=" not in second
    assert str(token_path(data)) in second and "scripter token show" in second
    assert token_path(data).read_text().strip() == token


def test_token_show_and_rotate(tmp_path: Path) -> None:
    env = {"SCRIPTER_DATA_DIRECTORY": str(tmp_path / "data")}
    missing = scripter(tmp_path, "token", "show", env=env)
    assert missing.returncode == 1
    assert "scripter token rotate" in missing.stderr and missing.stdout == ""

    made = scripter(tmp_path, "token", "rotate", env=env)
    assert made.returncode == 0, made.stderr
    token = token_path(tmp_path / "data").read_text().strip()
    assert made.stdout.strip() == f"http://127.0.0.1:8000/?token={token}"

    shown = scripter(tmp_path, "token", "show", "--port", "9001", env=env)
    assert shown.stdout.strip() == f"http://127.0.0.1:9001/?token={token}"
    raw = scripter(tmp_path, "token", "show", "--raw", env=env)
    assert raw.stdout.strip() == token

    public = scripter(
        tmp_path, "token", "show", env={**env, "SCRIPTER_SERVER_PUBLIC_URL": "https://s.example/"}
    )
    assert public.stdout.strip() == f"https://s.example/?token={token}"

    rotated = scripter(tmp_path, "token", "rotate", env=env)
    new = token_path(tmp_path / "data").read_text().strip()
    assert new != token and new in rotated.stdout
    assert "no longer work" in rotated.stderr


def test_token_commands_report_config_errors(tmp_path: Path) -> None:
    result = scripter(tmp_path, "token", "show", env={"SCRIPTER_AUTH_ENABLED": "maybe"})
    assert result.returncode == 2
    assert result.stderr.startswith("scripter: configuration error: auth.enabled")


@pytest.mark.parametrize(("enabled", "warned"), [("false", True), ("true", False)])
def test_auth_off_on_a_public_address_is_warned_about(
    tmp_path: Path, enabled: str, warned: bool
) -> None:
    text = run_api(tmp_path, "--host", "0.0.0.0", SCRIPTER_AUTH_ENABLED=enabled)
    assert ("WARNING" in text and "auth is off" in text) is warned, text
    assert token_path(tmp_path / "data").exists() is not warned


def test_auth_off_on_loopback_is_not_warned_about(tmp_path: Path) -> None:
    text = run_api(tmp_path, "--host", "127.0.0.1", SCRIPTER_AUTH_ENABLED="false")
    assert "auth is off" not in text and "?token=" not in text, text
