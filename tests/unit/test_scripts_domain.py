"""Scripts in the domain: the content hash, the settings snapshot, revisions, the rules."""

from __future__ import annotations

import base64
import hashlib
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scripter.domain.errors import InvalidInput
from scripter.domain.events import ScriptSaved
from scripter.domain.scripts import (
    EnvVar,
    NetworkMode,
    ResourceLimits,
    RevisionSettings,
    Script,
    ScriptRevision,
    content_hash,
    encode_files,
    validate_script,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def script(**overrides: Any) -> Script:
    values: dict[str, Any] = {
        "id": 7,
        "name": "etl",
        "image_id": 1,
        "created_at": T0,
        "updated_at": T0,
    }
    return Script(**{**values, **overrides})


# --- the content hash -------------------------------------------------------------------


def test_the_content_hash_is_defined_by_its_docstring():
    files = {"b.py": b"print(2)\n", "a/ü.txt": b"\x00\xff", "a.py": b""}
    digest = hashlib.sha256()
    for path in ["a.py", "a/ü.txt", "b.py"]:  # by UTF-8 bytes of the path
        encoded = path.encode()
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
        digest.update(len(files[path]).to_bytes(8, "big") + files[path])
    assert content_hash(files) == digest.hexdigest()


def test_the_content_hash_does_not_depend_on_order():
    one = {"a.py": b"1", "b.py": b"2", "lib/c.py": b"3"}
    assert content_hash(one) == content_hash(dict(reversed(list(one.items()))))


@pytest.mark.parametrize(
    "other",
    [
        {"a": b"bc"},  # the same bytes cut elsewhere
        {"ab": b"c", "x": b""},  # one more (empty) file
        {"ab": b"C"},  # other content
        {"AB": b"c"},  # other path
    ],
)
def test_the_content_hash_tells_file_sets_apart(other: dict[str, bytes]):
    assert content_hash({"ab": b"c"}) != content_hash(other)


def test_the_content_hash_of_no_files_is_the_hash_of_nothing():
    assert content_hash({}) == hashlib.sha256(b"").hexdigest()


# --- the settings snapshot --------------------------------------------------------------


def test_the_settings_snapshot_holds_every_run_setting_and_round_trips():
    s = script(
        entry_file="src/run.py",
        env=[EnvVar(name="TOKEN", value="s3cret", secret=True), EnvVar(name="A", value="1")],
        args=["--all", "ü"],
        limits=ResourceLimits(memory_mb=64, cpus=2.0, pids=None),
        timeout_seconds=None,
        network_mode=NetworkMode.BRIDGE,
        log_limit_bytes=4096,
        read_only_root=False,
        keep_last=3,
        description="not a run setting",
    )
    snapshot = s.revision_settings().to_json()
    assert snapshot == {
        "image_id": 1,
        "entry_file": "src/run.py",
        "env": [
            {"name": "TOKEN", "value": "s3cret", "secret": True},
            {"name": "A", "value": "1", "secret": False},
        ],
        "args": ["--all", "ü"],
        "limits": {"memory_mb": 64, "cpus": 2.0, "pids": None},
        "timeout_seconds": None,
        "network_mode": "bridge",
        "log_limit_bytes": 4096,
        "read_only_root": False,
    }
    assert RevisionSettings.from_json(snapshot) == s.revision_settings()
    # A revision saved before read_only_root existed ran with the configured default.
    older = {k: v for k, v in snapshot.items() if k != "read_only_root"}
    assert RevisionSettings.from_json(older).read_only_root is None
    # JSON may bring 2.0 back as 2.
    again = {**snapshot, "limits": {"memory_mb": 64, "cpus": 2, "pids": None}}
    assert RevisionSettings.from_json(again).limits.cpus == 2.0


def test_apply_takes_every_run_setting_and_leaves_the_rest():
    source = script(
        image_id=2,
        entry_file="x.py",
        env=[EnvVar(name="A", value="1")],
        args=["a"],
        limits=ResourceLimits(memory_mb=64),
        timeout_seconds=5,
        network_mode=NetworkMode.HOST,
        log_limit_bytes=2048,
    )
    target = script(name="other", description="d", keep_last=9, keep_days=4)
    target.apply(source.revision_settings())
    assert target.revision_settings() == source.revision_settings()
    assert (target.name, target.description, target.keep_last, target.keep_days) == (
        "other",
        "d",
        9,
        4,
    )
    target.env[0].value = "changed"  # a copy, not shared with the settings
    assert source.env[0].value == "1"


# --- revisions --------------------------------------------------------------------------


def test_the_first_revision_is_number_1_with_base64_files():
    s = script()
    files = {"main.py": b"print(1)\n", "blob.bin": bytes(range(256))}
    revision = s.revise(None, T0, files)
    assert revision is not None
    assert (revision.script_id, revision.number, revision.created_at) == (7, 1, T0)
    assert revision.files == encode_files(files)
    assert revision.files["blob.bin"] == base64.b64encode(bytes(range(256))).decode()
    assert revision.file_contents() == files
    assert revision.file_sizes() == {"blob.bin": 256, "main.py": 9}
    assert revision.content_hash == content_hash(files)
    assert revision.settings == s.revision_settings().to_json()
    assert s.current_revision == 1
    assert [(type(e), e.revision) for e in s.events if isinstance(e, ScriptSaved)] == [
        (ScriptSaved, 1)
    ]


def test_a_save_that_changes_nothing_makes_no_revision():
    s = script()
    first = s.revise(None, T0, {"main.py": b"x"})
    assert first is not None
    s.events.clear()
    assert s.revise(first, T0 + timedelta(1), {"main.py": b"x"}) is None
    assert s.revise(first, T0 + timedelta(1), None) is None
    assert s.current_revision == 1 and s.events == [] and s.updated_at == T0


def test_changed_files_or_settings_make_the_next_revision():
    s = script()
    first = s.revise(None, T0, {"main.py": b"x"})
    assert first is not None
    second = s.revise(first, T0 + timedelta(1), {"main.py": b"y"})
    assert second is not None and second.number == 2
    s.args = ["--verbose"]
    third = s.revise(second, T0 + timedelta(2), None)
    assert third is not None and third.number == 3
    assert third.content_hash == second.content_hash and third.files == second.files
    assert third.revision_settings().args == ("--verbose",)
    assert s.current_revision == 3 and s.updated_at == T0 + timedelta(2)


def test_name_description_and_retention_are_not_part_of_revisions():
    s = script()
    first = s.revise(None, T0, {"main.py": b"x"})
    s.name, s.description, s.keep_last, s.keep_days = "renamed", "new", 5, 6
    assert s.revise(first, T0, None) is None


def test_the_first_revision_needs_files():
    with pytest.raises(ValueError):
        script().revise(None, T0, None)


def test_a_revision_reads_its_settings_back():
    s = script(env=[EnvVar(name="K", value="v", secret=True)])
    revision = s.revise(None, T0, {"main.py": b""})
    assert isinstance(revision, ScriptRevision)
    assert revision.revision_settings().env == (EnvVar(name="K", value="v", secret=True),)


# --- rules ------------------------------------------------------------------------------

VALID = [
    {},
    {"timeout_seconds": None},
    {"timeout_seconds": 7 * 24 * 3600},
    {"limits": ResourceLimits(memory_mb=6, cpus=0.01, pids=1)},
    {"limits": ResourceLimits(memory_mb=None, cpus=None, pids=None)},
    {"log_limit_bytes": 1024},
    {"keep_last": 1, "keep_days": 1},
    {"env": [EnvVar(name=f"V_{i}", value="") for i in range(200)]},
    {"env": [EnvVar(name="_a1", value="x"), EnvVar(name="A1", value="ü")]},
    {"args": [""] * 200},
]


@pytest.mark.parametrize("overrides", VALID)
def test_valid_scripts_pass(overrides: dict[str, Any]):
    validate_script(script(**overrides))


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"name": "has space"}, "name"),
    ({"description": "d" * 2001}, "description"),
    ({"entry_file": "../main.py"}, "entry_file"),
    ({"entry_file": "/main.py"}, "entry_file"),
    ({"env": [EnvVar(name="1A", value="")]}, "env[0].name"),
    ({"env": [EnvVar(name="A-B", value="")]}, "env[0].name"),
    ({"env": [EnvVar(name="", value="")]}, "env[0].name"),
    ({"env": [EnvVar(name="A", value=""), EnvVar(name="A", value="")]}, "env[1].name"),
    ({"env": [EnvVar(name="A", value="a\x00b")]}, "env[0].value"),
    ({"env": [EnvVar(name="A", value="x" * 32769)]}, "env[0].value"),
    ({"env": [EnvVar(name=f"V{i}", value="") for i in range(201)]}, "env"),
    ({"args": ["ok", "a\x00"]}, "args[1]"),
    ({"args": ["a"] * 201}, "args"),
    ({"limits": ResourceLimits(memory_mb=5)}, "limits.memory_mb"),
    ({"limits": ResourceLimits(cpus=0)}, "limits.cpus"),
    ({"limits": ResourceLimits(cpus=-1.0)}, "limits.cpus"),
    ({"limits": ResourceLimits(cpus=math.inf)}, "limits.cpus"),
    ({"limits": ResourceLimits(cpus=math.nan)}, "limits.cpus"),
    ({"limits": ResourceLimits(pids=0)}, "limits.pids"),
    ({"timeout_seconds": 0}, "timeout_seconds"),
    ({"timeout_seconds": 7 * 24 * 3600 + 1}, "timeout_seconds"),
    ({"log_limit_bytes": 1023}, "log_limit_bytes"),
    ({"keep_last": 0}, "keep_last"),
    ({"keep_days": 0}, "keep_days"),
    ({"keep_days": 2**31}, "keep_days"),
]


@pytest.mark.parametrize(("overrides", "field"), INVALID)
def test_invalid_scripts_are_refused_naming_the_field(overrides: dict[str, Any], field: str):
    with pytest.raises(InvalidInput) as caught:
        validate_script(script(**overrides))
    assert caught.value.field == field
