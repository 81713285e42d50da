"""``python -m scripter`` as a user runs it: help, configuration errors, migrate,
asyncapi, and the long-running roles stopping cleanly on SIGINT and SIGTERM.

Every command runs in a fresh temporary directory (so no ``./config.toml`` of the
developer is read) with no ``SCRIPTER_*`` variable but those the test sets.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import aio_pika
import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from scripter.adapters.db.engine import create_engine
from scripter.adapters.db.migrate import head_revision
from tests.child_env import scripter_child_env
from tests.conftest import MARIADB_URL, RABBITMQ_URL, TEST_BASE_IMAGE
from tests.e2e.multiprocess import MIGRATE_TIMEOUT, Broker, eventually, scale_out

RUN_TIMEOUT = 60.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
CONFIG_ERROR = 2
COMMANDS = ("serve", "api", "worker", "scheduler", "migrate", "asyncapi", "openapi")


def _env(**variables: str) -> dict[str, str]:
    return scripter_child_env(variables)


def scripter(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripter", *args],
        cwd=cwd,
        env=_env(**(env or {})),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- help ---------------------------------------------------------------------------


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = scripter(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout
    assert result.stderr == ""


def test_version(tmp_path: Path) -> None:
    result = scripter(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("scripter ")


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("serve", ["--config", "--host", "--port"]),
        ("api", ["--config", "--host", "--port"]),
        ("worker", ["--config"]),
        ("scheduler", ["--config"]),
        ("migrate", ["--config"]),
        ("asyncapi", ["--config", "--output"]),
    ],
)
def test_command_help_names_its_options(tmp_path: Path, command: str, options: list[str]) -> None:
    result = scripter(tmp_path, command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: scripter {command}")
    for option in options:
        assert option in result.stdout, (option, result.stdout)
    assert result.stderr == ""
    assert not (tmp_path / "data").exists(), "--help must not create the data directory"


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = scripter(tmp_path, "frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


# --- configuration errors: exit 2, one line naming the key --------------------------


def _one_line_config_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == CONFIG_ERROR, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("scripter: configuration error: "), lines[0]
    assert result.stdout == ""
    return lines[0]


@pytest.mark.parametrize(
    ("config_toml", "variables", "expected"),
    [
        pytest.param(
            "[server]\nprot = 8000\n", {}, ["server.prot", "unknown key"], id="unknown-key"
        ),
        pytest.param(
            "[srever]\nport = 8000\n", {}, ["srever", "unknown section"], id="unknown-section"
        ),
        pytest.param(
            '[server]\nport = "eighty"\n', {}, ["server.port", "config.toml"], id="wrong-type"
        ),
        pytest.param("[server]\nport = 70000\n", {}, ["server.port", "70000"], id="port-range"),
        pytest.param("[server\nport = 1\n", {}, ["config.toml", "not valid TOML"], id="bad-toml"),
        pytest.param(
            None,
            {"SCRIPTER_SERVER_PORT": "abc"},
            ["server.port", "SCRIPTER_SERVER_PORT"],
            id="env-type",
        ),
        pytest.param(
            None,
            {"SCRIPTER_SERVER_PROT": "1"},
            ["SCRIPTER_SERVER_PROT", "unknown"],
            id="env-unknown",
        ),
        pytest.param(None, {"SCRIPTER_LOGGING_LEVEL": "LOUD"}, ["logging.level"], id="env-value"),
        # The file is type-strict; only variables (strings by nature) are converted.
        pytest.param(
            '[server]\nport = "8001"\n', {}, ["server.port", "config.toml"], id="quoted-number"
        ),
        pytest.param(
            '[auth]\nenabled = "false"\n', {}, ["auth.enabled", "`bool`"], id="quoted-bool"
        ),
        pytest.param(
            "[worker]\nconcurrency = 2.0\n", {}, ["worker.concurrency", "`float`"], id="float-int"
        ),
        pytest.param(
            None,
            {"SCRIPTER_SERVER_UI_DIRECTORY": "no-ui-here"},
            ["server.ui_directory", "no-ui-here", "index.html"],
            id="ui-directory",
        ),
    ],
)
def test_bad_config_stops_serve_with_one_line(
    tmp_path: Path, config_toml: str | None, variables: dict[str, str], expected: list[str]
) -> None:
    if config_toml is not None:
        (tmp_path / "config.toml").write_text(config_toml)
    # --port: should the config wrongly be accepted, the server must not take 8000.
    result = scripter(tmp_path, "serve", "--port", str(_free_port()), env=variables)
    line = _one_line_config_error(result)
    for text in expected:
        assert text in line, (text, line)


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    line = _one_line_config_error(scripter(tmp_path, "serve", "--config", "nowhere.toml"))
    assert "nowhere.toml" in line
    line = _one_line_config_error(
        scripter(tmp_path, "serve", env={"SCRIPTER_CONFIG": str(tmp_path / "gone.toml")})
    )
    assert "gone.toml" in line


def test_data_directory_under_a_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    data = tmp_path / "a-file" / "data"
    line = _one_line_config_error(
        scripter(tmp_path, "serve", env={"SCRIPTER_DATA_DIRECTORY": str(data)})
    )
    assert "data.directory" in line
    assert str(data) in line


@pytest.mark.parametrize("command", ["api", "worker", "scheduler", "migrate", "asyncapi"])
def test_every_command_reports_config_errors_alike(tmp_path: Path, command: str) -> None:
    line = _one_line_config_error(scripter(tmp_path, command, env={"SCRIPTER_SERVER_PORT": "abc"}))
    assert "server.port" in line


# --- migrate ------------------------------------------------------------------------


def _schema_revision(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(revision)


def test_migrate_creates_the_database_and_is_repeatable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = scripter(tmp_path, "migrate", env={"SCRIPTER_DATA_DIRECTORY": str(data)})
    assert first.returncode == 0, first.stderr
    assert "latest schema" in first.stdout
    assert (data / "scripter.db").is_file()
    assert (data / "images").is_dir() and (data / "scripts").is_dir()
    assert _schema_revision(data / "scripter.db") == head_revision()
    assert "Traceback" not in first.stderr

    again = scripter(tmp_path, "migrate", env={"SCRIPTER_DATA_DIRECTORY": str(data)})
    assert again.returncode == 0, again.stderr
    assert _schema_revision(data / "scripter.db") == head_revision()


def test_migrate_uses_the_default_data_directory(tmp_path: Path) -> None:
    result = scripter(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "scripter.db").is_file()


# --- asyncapi -----------------------------------------------------------------------


def _check_asyncapi(document: dict[str, object]) -> None:
    assert str(document["asyncapi"]).startswith("3."), document["asyncapi"]
    assert "scripter.events" in json.dumps(document["channels"])


def test_asyncapi_prints_the_document(tmp_path: Path) -> None:
    result = scripter(tmp_path, "asyncapi")
    assert result.returncode == 0, result.stderr
    _check_asyncapi(json.loads(result.stdout))
    assert not (tmp_path / "data").exists(), "asyncapi needs no data directory"


def test_asyncapi_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "asyncapi.json"
    target.parent.mkdir()
    result = scripter(tmp_path, "asyncapi", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    document = json.loads(target.read_text(encoding="utf-8"))
    _check_asyncapi(document)
    assert document == json.loads(scripter(tmp_path, "asyncapi").stdout)


# --- long-running roles stop cleanly --------------------------------------------------


def _wait_for(
    what: str, ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode} before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {START_TIMEOUT:.0f} s:\n{log.read_text()}")
        time.sleep(0.1)


def _healthz_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@pytest.mark.parametrize(
    ("command", "stop_signal"),
    [
        ("worker", signal.SIGINT),
        ("worker", signal.SIGTERM),
        ("scheduler", signal.SIGINT),
        ("scheduler", signal.SIGTERM),
        ("api", signal.SIGINT),
        ("api", signal.SIGTERM),
    ],
    ids=[
        "worker-SIGINT",
        "worker-SIGTERM",
        "scheduler-SIGINT",
        "scheduler-SIGTERM",
        "api-SIGINT",
        "api-SIGTERM",
    ],
)
def test_role_runs_on_a_fresh_data_directory_until_signalled(
    tmp_path: Path, command: str, stop_signal: signal.Signals
) -> None:
    _run_until_signalled(
        tmp_path, command, stop_signal, _env(SCRIPTER_DATA_DIRECTORY=str(tmp_path / "data"))
    )


def _run_until_signalled(
    tmp_path: Path, command: str, stop_signal: signal.Signals, env: dict[str, str]
) -> None:
    """``command`` starts (an api answers /healthz) and exits 0 on ``stop_signal``,
    without a traceback."""
    data = Path(env["SCRIPTER_DATA_DIRECTORY"])
    log = tmp_path / "stderr.log"
    args = [sys.executable, "-m", "scripter", command]
    port = _free_port()
    if command == "api":
        args += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            args,
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        _wait_for("start-up", lambda: f"started: {command}" in log.read_text(), process, log)
        if command == "api":
            url = f"http://127.0.0.1:{port}/healthz"
            _wait_for("an answer from /healthz", lambda: _healthz_answers(url), process, log)
        time.sleep(0.3)
        assert process.poll() is None, f"{command} exited by itself:\n{log.read_text()}"
        assert (data / "scripter.db").is_file()

        started = time.monotonic()
        process.send_signal(stop_signal)
        try:
            returncode = process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{command} ignored {stop_signal.name} for {STOP_TIMEOUT:.0f} s")
        stderr_text = log.read_text()
        assert returncode == 0, f"exit {returncode} after {stop_signal.name}:\n{stderr_text}"
        assert "Traceback" not in stderr_text, stderr_text
        assert time.monotonic() - started < STOP_TIMEOUT
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- the test suite's own SCRIPTER_* knobs never reach a child scripter ---------------

TEST_KNOBS = (
    "SCRIPTER_TEST_BASE_IMAGE",
    "SCRIPTER_TEST_MARIADB_URL",
    "SCRIPTER_TEST_RABBITMQ_URL",
    "SCRIPTER_FIGURES",
    "SCRIPTER_HOSTILE_EXAMPLES",
    "SCRIPTER_UI_SCREENSHOTS",
)


def test_a_child_server_starts_with_the_test_knobs_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTER_TEST_BASE_IMAGE", TEST_BASE_IMAGE)
    for knob in TEST_KNOBS:
        monkeypatch.setenv(knob, os.environ.get(knob, "set"))
    # Handed on as they are, they would stop the child: not one is a setting.
    as_they_are = {**os.environ, **_env()}
    refused = subprocess.run(
        [sys.executable, "-m", "scripter", "api", "--port", str(_free_port())],
        cwd=tmp_path,
        env=as_they_are,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    line = _one_line_config_error(refused)
    assert "unknown setting" in line and any(knob in line for knob in TEST_KNOBS), line

    # The environment every test and benchmark gives its child scripter processes,
    # with the developer's own settings kept, as scripter_server keeps them.
    env = scripter_child_env(
        {"SCRIPTER_DATA_DIRECTORY": str(tmp_path / "data")}, inherit_settings=True
    )
    assert not set(TEST_KNOBS) & set(env)
    _run_until_signalled(tmp_path, "api", signal.SIGINT, env)


# --- Ctrl-C on MariaDB and RabbitMQ ---------------------------------------------------


async def _connections_to(database: str) -> int:
    """MariaDB connections whose current database is ``database`` (this test's own
    query runs on the server's default database, so it is not counted)."""
    engine = create_engine(MARIADB_URL)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(
                sqlalchemy.text(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = :name"
                ),
                {"name": database},
            )
    finally:
        await engine.dispose()
    return int(count or 0)


@pytest.mark.mariadb
@pytest.mark.rabbitmq
@pytest.mark.docker
async def test_worker_on_mariadb_and_rabbitmq_stops_on_sigint_and_leaves_no_connection(
    tmp_path: Path,
) -> None:
    async with scale_out(tmp_path) as deployment:
        database = make_url(deployment.env["SCRIPTER_DATABASE_URL"]).database
        assert database
        await deployment.run("migrate", timeout=MIGRATE_TIMEOUT)
        worker = await deployment.spawn("worker", "worker")
        connection = await aio_pika.connect_robust(RABBITMQ_URL)
        async with connection:
            await Broker(connection, deployment.queue_prefix).wait_for_consumers(1, worker)

        async def connected() -> int | None:
            deployment.check_alive(worker)
            count = await _connections_to(database)
            return count or None

        # Its recovery pass has used the pool: the connections this test must see go.
        await eventually(connected, "the worker's connection to MariaDB", START_TIMEOUT)

        await deployment.stop(worker, signal.SIGINT)  # exit 0, no traceback

        async def closed() -> bool | None:
            return True if await _connections_to(database) == 0 else None

        await eventually(closed, f"no connection left to {database}", STOP_TIMEOUT)
