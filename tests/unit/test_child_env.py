"""The environment tests and benchmarks give a child ``scripter``: never the test
suite's own ``SCRIPTER_*`` knobs, which would stop it as unknown settings."""

from __future__ import annotations

import os

import pytest

from scripter.config import ConfigError, load_config
from tests.child_env import REPO_ROOT, scripter_child_env

KNOBS = {
    "SCRIPTER_TEST_BASE_IMAGE": "scripter-test-base:bookworm",
    "SCRIPTER_TEST_MARIADB_URL": "mysql+asyncmy://root@127.0.0.1:3306/test",
    "SCRIPTER_TEST_RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/",
    "SCRIPTER_FIGURES": "/tmp/figures",
    "SCRIPTER_HOSTILE_EXAMPLES": "15",
    "SCRIPTER_UI_SCREENSHOTS": "/tmp/shots",
}
SETTINGS = {"SCRIPTER_SERVER_PORT": "9000", "SCRIPTER_CONFIG": "/etc/scripter.toml"}
BASE = {**KNOBS, **SETTINGS, "PATH": "/usr/bin", "PYTHONPATH": "/elsewhere"}


def test_the_knobs_alone_would_stop_start_up():
    """Why the helper exists: the premise of the tests below."""
    for name, value in KNOBS.items():
        with pytest.raises(ConfigError, match=f"{name}: unknown setting"):
            load_config(env={name: value})


def test_by_default_no_scripter_variable_is_inherited():
    env = scripter_child_env({"SCRIPTER_DATA_DIRECTORY": "/d"}, base=BASE)
    assert {name for name in env if name.startswith("SCRIPTER_")} == {"SCRIPTER_DATA_DIRECTORY"}
    assert env["PATH"] == "/usr/bin"
    assert env["PYTHONPATH"] == os.pathsep.join([str(REPO_ROOT), "/elsewhere"])


def test_inherited_settings_pass_and_the_knobs_do_not():
    env = scripter_child_env(
        {"SCRIPTER_DATA_DIRECTORY": "/d", "SCRIPTER_SERVER_PORT": "9001"},
        inherit_settings=True,
        base=BASE,
    )
    assert not set(KNOBS) & set(env)
    assert env["SCRIPTER_CONFIG"] == "/etc/scripter.toml"
    assert env["SCRIPTER_SERVER_PORT"] == "9001"  # the caller's settings win
    assert env["SCRIPTER_DATA_DIRECTORY"] == "/d"


def test_what_it_gives_loads_as_a_configuration(tmp_path):
    (tmp_path / "config.toml").write_text("[server]\nport = 8123\n")
    base = {**BASE, "SCRIPTER_CONFIG": str(tmp_path / "config.toml")}
    env = scripter_child_env(
        {"SCRIPTER_DATA_DIRECTORY": str(tmp_path)}, inherit_settings=True, base=base
    )
    config = load_config(env=env)
    assert config.server.port == 9000  # the variable over the file
    assert config.data_directory == tmp_path
