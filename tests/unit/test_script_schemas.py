"""The conversions of /api/scripts bodies: secrets never go out, omitted fields stay."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import msgspec

from scripter.domain.scripts import EnvVar, Script
from scripter.http.schemas.scripts import (
    ScriptUpdate,
    env_out,
    patch_in,
    revision_out,
    revision_summary,
    script_out,
)
from scripter.services.script_changes import KEEP, EnvInput, LimitsPatch

T0 = datetime(2030, 1, 1, tzinfo=UTC)
SECRET = "hunter2-do-not-leak"


def script() -> Script:
    return Script(
        id=1,
        name="etl",
        image_id=1,
        env=[EnvVar(name="TOKEN", value=SECRET, secret=True), EnvVar(name="A", value="1")],
        created_at=T0,
        updated_at=T0,
    )


def test_a_secret_goes_out_without_its_value_and_a_plain_variable_with_it():
    out = msgspec.to_builtins(env_out(script().env))
    assert out == [
        {"name": "TOKEN", "secret": True, "value": None, "is_set": True},
        {"name": "A", "secret": False, "value": "1", "is_set": True},
    ]


def test_no_script_or_revision_body_carries_a_secret_value():
    s = script()
    revision = s.revise(None, T0, {"main.py": b"print(1)\n", "b.bin": b"\xff\x00"})
    assert revision is not None and SECRET in str(revision.settings)
    for body in (script_out(s), revision_out(revision), revision_summary(revision)):
        assert SECRET.encode() not in msgspec.json.encode(body)


def test_revision_files_go_out_as_text_when_they_are_utf8_else_base64():
    s = script()
    revision = s.revise(None, T0, {"main.py": "print('é')\n".encode(), "b.bin": b"\xff\x00"})
    assert revision is not None
    files = {f.path: f for f in revision_out(revision).files}
    assert (files["main.py"].encoding, files["main.py"].content) == ("utf-8", "print('é')\n")
    assert files["b.bin"].encoding == "base64"
    assert base64.b64decode(files["b.bin"].content) == b"\xff\x00"
    assert files["b.bin"].size == 2


def test_a_patch_keeps_every_field_the_body_left_out():
    patch = patch_in(msgspec.json.decode(b'{"timeout_seconds": null}', type=ScriptUpdate))
    assert patch.timeout_seconds is None
    assert patch.name is KEEP and patch.env is KEEP and patch.args is KEEP
    assert patch.limits == LimitsPatch()
    body = b'{"limits": {"cpus": null}, "env": [{"name": "T", "secret": true, "is_set": true}]}'
    patch = patch_in(msgspec.json.decode(body, type=ScriptUpdate))
    assert patch.limits == LimitsPatch(cpus=None)
    assert patch.env == [EnvInput(name="T", value=None, secret=True)]
