from __future__ import annotations

import concurrent.futures
import threading
from pathlib import Path

import pytest

from scripter.config import ConfigError, is_setting_variable, load_config, prepare_data_directory


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return str(path)


def test_no_file_gives_defaults_for_one_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8000)
    assert config.data_directory == tmp_path / "data"
    assert config.database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'scripter.db'}"
    assert config.broker.url == ""  # the in-process bus
    assert config.docker.host == ""  # DOCKER_HOST or the default socket


def test_file_is_found_by_flag_then_env_then_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("[server]\nport = 1001\n")
    other = tmp_path / "other.toml"
    other.write_text("[server]\nport = 1002\n")
    third = tmp_path / "third.toml"
    third.write_text("[server]\nport = 1003\n")
    assert load_config(env={}).server.port == 1001
    assert load_config(env={"SCRIPTER_CONFIG": str(other)}).server.port == 1002
    assert load_config(str(third), env={"SCRIPTER_CONFIG": str(other)}).server.port == 1003


def test_environment_overrides_every_kind_of_value(tmp_path: Path):
    path = write(tmp_path, '[server]\nport = 1001\n[docker]\nbuild_network = "bridge"\n')
    pem = tmp_path / "ca.pem"
    pem.write_text("x")
    config = load_config(
        path,
        env={
            "SCRIPTER_SERVER_PORT": "9000",
            "SCRIPTER_DOCKER_BUILD_NETWORK": "host",
            "SCRIPTER_DOCKER_EXTRA_CA_CERTIFICATES": f"{pem}, {pem}",
            "SCRIPTER_DATA_HOST_DIRECTORY": "/srv/scripter/data",
            "SCRIPTER_WORKER_CONCURRENCY": "8",
        },
    )
    assert config.server.port == 9000
    assert config.docker.build_network == "host"
    assert config.docker.extra_ca_certificates == [str(pem), str(pem)]
    assert config.host_data_directory == Path("/srv/scripter/data")
    assert config.worker.concurrency == 8


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('[server]\nport = "eighty"\n', {}, "server.port: Expected `int`, got `str`"),
        ("[server]\nprot = 80\n", {}, "server.prot: unknown key"),
        ("[nonsense]\na = 1\n", {}, "nonsense: unknown section"),
        ("[server\n", {}, "is not valid TOML"),
        (
            "",
            {"SCRIPTER_SERVER_PORT": "x"},
            "server.port: Expected `int`, got `str` (from SCRIPTER_SERVER_PORT)",
        ),
        ("", {"SCRIPTER_SERVER_PROT": "1"}, "SCRIPTER_SERVER_PROT: unknown setting"),
        ("", {"SCRIPTER_SERVER_PORT": "70000"}, "server.port: 70000 is not a TCP port"),
        ('[database]\nurl = "postgres://x"\n', {}, "database.url: must start with"),
        ('[broker]\nurl = "http://x"\n', {}, "broker.url: must start with amqp://"),
        ('[scheduler]\ntimezone = "Mars/Olympus"\n', {}, "scheduler.timezone: 'Mars/Olympus'"),
        (
            '[docker]\nextra_ca_certificates = ["/nope.pem"]\n',
            {},
            "docker.extra_ca_certificates[0]",
        ),
        ("[worker]\nconcurrency = 0\n", {}, "worker.concurrency: must be at least 1"),
        (
            "[server]\nshutdown_grace_seconds = 0\n",
            {},
            "server.shutdown_grace_seconds: must be more than 0",
        ),
        ('[docker]\nimage_prefix = "Bad Prefix"\n', {}, "docker.image_prefix: must be"),
        (
            "[scheduler]\narm_ahead_seconds = -1\n",
            {},
            "scheduler.arm_ahead_seconds: must be between 0 and 3600",
        ),
        (
            "",
            {"SCRIPTER_SCHEDULER_ARM_AHEAD_SECONDS": "7200"},
            "scheduler.arm_ahead_seconds: must be between 0 and 3600",
        ),
        # The file is type-strict: TOML has integers, booleans and arrays of its own.
        ('[server]\nport = "8001"\n', {}, "server.port: Expected `int`, got `str` (in "),
        ('[auth]\nenabled = "false"\n', {}, "auth.enabled: Expected `bool`, got `str` (in "),
        ("[worker]\nconcurrency = 2.0\n", {}, "worker.concurrency: Expected `int`, got `float`"),
        ('[jobs]\nstop_grace_seconds = "5"\n', {}, "jobs.stop_grace_seconds: Expected `float`"),
        (
            '[docker]\nextra_ca_certificates = "/a.pem"\n',
            {},
            "docker.extra_ca_certificates: Expected `array`, got `str`",
        ),
        ("[server]\nhost = 127\n", {}, "server.host: Expected `str`, got `int`"),
        (
            "",
            {"SCRIPTER_AUTH_ENABLED": "maybe"},
            "auth.enabled: Expected `bool`, got `str` (from SCRIPTER_AUTH_ENABLED)",
        ),
        (
            '[server]\nui_directory = "/nonexistent-ui"\n',
            {},
            "server.ui_directory: /nonexistent-ui has no index.html",
        ),
    ],
)
def test_bad_values_name_the_key_and_the_problem(
    tmp_path: Path, text: str, env: dict[str, str], message: str
):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env=env)
    assert message in str(caught.value)


def test_environment_strings_are_converted_to_the_keys_types(tmp_path: Path):
    # Variables are strings by nature: only they are read loosely, never the file.
    config = load_config(
        env={
            "SCRIPTER_AUTH_ENABLED": "false",
            "SCRIPTER_JOBS_READ_ONLY_ROOT": "0",
            "SCRIPTER_SERVER_SHUTDOWN_GRACE_SECONDS": "2.5",
            "SCRIPTER_JOBS_STOP_GRACE_SECONDS": "3",
            "SCRIPTER_SERVER_HOST": "0.0.0.0",
        }
    )
    assert config.auth.enabled is False
    assert config.jobs.read_only_root is False
    assert config.server.shutdown_grace_seconds == 2.5
    assert config.jobs.stop_grace_seconds == 3.0
    assert config.server.host == "0.0.0.0"


def test_an_integer_in_the_file_suits_a_float_key(tmp_path: Path):
    config = load_config(write(tmp_path, "[jobs]\nstop_grace_seconds = 5\n"), env={})
    assert config.jobs.stop_grace_seconds == 5.0


def test_arming_ahead_can_be_turned_off(tmp_path: Path):
    config = load_config(write(tmp_path, "[scheduler]\narm_ahead_seconds = 0\n"), env={})
    assert config.scheduler.arm_ahead_seconds == 0.0


def test_ui_directory_must_hold_a_built_ui(tmp_path: Path):
    ui = tmp_path / "dist"
    ui.mkdir()
    env = {"SCRIPTER_SERVER_UI_DIRECTORY": str(ui)}
    with pytest.raises(ConfigError, match=r"^server.ui_directory: .*dist has no index.html"):
        load_config(env=env)
    (ui / "index.html").write_text("<!doctype html>")
    assert load_config(env=env).server.ui_directory == str(ui)


@pytest.mark.parametrize(
    ("name", "reads"),
    [
        ("SCRIPTER_SERVER_PORT", True),
        ("SCRIPTER_DOCKER_EXTRA_CA_CERTIFICATES", True),
        ("SCRIPTER_CONFIG", True),
        ("SCRIPTER_SERVER_PROT", False),
        ("SCRIPTER_TEST_BASE_IMAGE", False),
        ("SCRIPTER_FIGURES", False),
        ("PATH", False),
    ],
)
def test_is_setting_variable_agrees_with_what_load_config_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, reads: bool
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("")
    assert is_setting_variable(name) is reads
    try:
        load_config(env={name: "config.toml" if name == "SCRIPTER_CONFIG" else "1"})
    except ConfigError as exc:
        assert reads or "unknown setting" in str(exc), exc
        assert not reads or "unknown setting" not in str(exc), exc
    else:
        assert reads or not name.startswith("SCRIPTER_")


def test_missing_explicit_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "missing.toml"), env={})


def test_unusable_data_directory_is_an_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = load_config(env={"SCRIPTER_DATA_DIRECTORY": str(blocker / "data")})
    with pytest.raises(ConfigError, match=r"data.directory: .* is not usable"):
        prepare_data_directory(config)


def test_data_directory_is_created_with_its_layout(tmp_path: Path):
    config = load_config(env={"SCRIPTER_DATA_DIRECTORY": str(tmp_path / "d")})
    root = prepare_data_directory(config)
    assert (root / "images").is_dir()
    assert (root / "scripts").is_dir()


def test_processes_starting_together_on_one_data_directory_all_succeed(tmp_path: Path):
    # The api and the workers of a deployment share the folder and start at once; each
    # write probe must be its own, or one's clean-up fails the other's start-up.
    config = load_config(env={"SCRIPTER_DATA_DIRECTORY": str(tmp_path / "shared")})
    start = threading.Barrier(8)

    def start_up() -> None:
        start.wait()
        for _ in range(200):
            prepare_data_directory(config)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for outcome in [pool.submit(start_up) for _ in range(8)]:
            outcome.result()
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["images", "scripts"]
