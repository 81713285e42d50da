from __future__ import annotations

import concurrent.futures
import threading
from pathlib import Path

import pytest

from scripter.config import ConfigError, load_config, prepare_data_directory


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
    ],
)
def test_bad_values_name_the_key_and_the_problem(
    tmp_path: Path, text: str, env: dict[str, str], message: str
):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env=env)
    assert message in str(caught.value)


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
