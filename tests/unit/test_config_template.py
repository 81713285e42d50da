"""The template documents every key, and its values are the defaults."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from scripter.config import Config, load_config

TEMPLATE = Path(__file__).resolve().parents[2] / "config.template.toml"


def test_template_names_every_key_with_its_default():
    documented = tomllib.loads(TEMPLATE.read_text())
    defaults = msgspec.to_builtins(Config())
    assert documented == defaults


def test_template_loads():
    load_config(str(TEMPLATE), env={})
