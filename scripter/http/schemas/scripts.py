"""Bodies of /api/scripts, and the conversions from and to the service's types.

Secrets: no response carries a secret's value. Every environment variable goes out
through ``env_out``, which sends ``value: null`` for a secret.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from scripter.domain.scripts import (
    DEFAULT_ENTRY_FILE,
    EnvVar,
    NetworkMode,
    ResourceLimits,
    RevisionSettings,
    ScriptRevision,
)
from scripter.domain.scripts import Script as ScriptEntity
from scripter.http.schemas.files import FileEntry, NewFile, file_entry
from scripter.services.script_changes import KEEP, EnvInput, Keep, LimitsPatch, ScriptPatch
from scripter.services.scripts import ScriptDetail

T = TypeVar("T")

# --- responses --------------------------------------------------------------------------


class EnvVarOut(msgspec.Struct):
    name: str
    secret: bool
    value: str | None
    """The value; always null for a secret."""
    is_set: bool


class Limits(msgspec.Struct):
    memory_mb: int | None
    cpus: float | None
    pids: int | None


class Script(msgspec.Struct):
    id: int
    name: str
    description: str
    image_id: int
    entry_file: str
    env: list[EnvVarOut]
    args: list[str]
    limits: Limits
    timeout_seconds: int | None
    network_mode: NetworkMode
    log_limit_bytes: int | None
    read_only_root: bool | None
    """Jobs see a read-only root file system (``/tmp`` stays writable); null: the
    server's default (``jobs.read_only_root``, read-only unless configured)."""
    keep_last: int | None
    keep_days: int | None
    current_revision: int
    created_at: datetime
    updated_at: datetime
    files: list[FileEntry] | None = None


class ScriptPage(msgspec.Struct):
    items: list[Script]
    next_cursor: int | None


class RevisionFileEntry(msgspec.Struct):
    path: str
    size: int


class RevisionSummary(msgspec.Struct):
    number: int
    created_at: datetime
    content_hash: str
    files: list[RevisionFileEntry]


class RevisionFile(msgspec.Struct):
    path: str
    size: int
    content: str
    encoding: Literal["utf-8", "base64"]


class RevisionSettingsOut(msgspec.Struct):
    image_id: int
    entry_file: str
    env: list[EnvVarOut]
    args: list[str]
    limits: Limits
    timeout_seconds: int | None
    network_mode: NetworkMode
    log_limit_bytes: int | None
    read_only_root: bool | None


class Revision(msgspec.Struct):
    number: int
    created_at: datetime
    content_hash: str
    files: list[RevisionFile]
    settings: RevisionSettingsOut


# --- requests ---------------------------------------------------------------------------


class EnvVarIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    value: str | None = None
    """Null for a secret keeps the value stored under this name."""
    secret: bool = False
    is_set: bool | None = None
    """Ignored: accepted so that a client can send back the list it was given."""


class LimitsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Omitted limits keep their value (on create: the default); null means no limit."""

    memory_mb: int | UnsetType | None = UNSET
    cpus: float | UnsetType | None = UNSET
    pids: int | UnsetType | None = UNSET


class ScriptCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    image_id: int
    description: str = ""
    entry_file: str = DEFAULT_ENTRY_FILE
    files: list[NewFile] = msgspec.field(default_factory=list)
    """Omit for a hello-world main.py."""
    env: list[EnvVarIn] = msgspec.field(default_factory=list)
    args: list[str] = msgspec.field(default_factory=list)
    limits: LimitsIn = msgspec.field(default_factory=LimitsIn)
    timeout_seconds: int | None = 3600
    network_mode: NetworkMode | None = None
    """none, bridge or host; omit for the configured default (docker.job_network)."""
    log_limit_bytes: int | None = None
    read_only_root: bool | None = None
    """false gives jobs a writable root file system; omit or null for the default."""
    keep_last: int | None = None
    keep_days: int | None = None


class ScriptUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields given change; ``env`` and ``args`` replace the whole list."""

    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    image_id: int | UnsetType = UNSET
    entry_file: str | UnsetType = UNSET
    env: list[EnvVarIn] | UnsetType = UNSET
    args: list[str] | UnsetType = UNSET
    limits: LimitsIn | UnsetType = UNSET
    timeout_seconds: int | UnsetType | None = UNSET
    network_mode: NetworkMode | UnsetType = UNSET
    log_limit_bytes: int | UnsetType | None = UNSET
    read_only_root: bool | UnsetType | None = UNSET
    keep_last: int | UnsetType | None = UNSET
    keep_days: int | UnsetType | None = UNSET


# --- conversions ------------------------------------------------------------------------


def env_out(env: Sequence[EnvVar]) -> list[EnvVarOut]:
    return [
        EnvVarOut(name=v.name, secret=v.secret, value=None if v.secret else v.value, is_set=True)
        for v in env
    ]


def limits_out(limits: ResourceLimits) -> Limits:
    return Limits(memory_mb=limits.memory_mb, cpus=limits.cpus, pids=limits.pids)


def script_out(script: ScriptEntity, detail: ScriptDetail | None = None) -> Script:
    return Script(
        id=script.require_id,
        name=script.name,
        description=script.description,
        image_id=script.image_id,
        entry_file=script.entry_file,
        env=env_out(script.env),
        args=list(script.args),
        limits=limits_out(script.limits),
        timeout_seconds=script.timeout_seconds,
        network_mode=script.network_mode,
        log_limit_bytes=script.log_limit_bytes,
        read_only_root=script.read_only_root,
        keep_last=script.keep_last,
        keep_days=script.keep_days,
        current_revision=script.current_revision,
        created_at=script.created_at,
        updated_at=script.updated_at,
        files=None if detail is None else [file_entry(f) for f in detail.files],
    )


def detail_out(detail: ScriptDetail) -> Script:
    return script_out(detail.script, detail)


def revision_summary(revision: ScriptRevision) -> RevisionSummary:
    return RevisionSummary(
        number=revision.number,
        created_at=revision.created_at,
        content_hash=revision.content_hash,
        files=[RevisionFileEntry(path=p, size=n) for p, n in revision.file_sizes().items()],
    )


def _revision_file(path: str, content: bytes) -> RevisionFile:
    try:
        return RevisionFile(
            path=path, size=len(content), content=content.decode("utf-8"), encoding="utf-8"
        )
    except UnicodeDecodeError:
        text = base64.b64encode(content).decode("ascii")
        return RevisionFile(path=path, size=len(content), content=text, encoding="base64")


def _settings_out(settings: RevisionSettings) -> RevisionSettingsOut:
    return RevisionSettingsOut(
        image_id=settings.image_id,
        entry_file=settings.entry_file,
        env=env_out(settings.env),
        args=list(settings.args),
        limits=limits_out(settings.limits),
        timeout_seconds=settings.timeout_seconds,
        network_mode=settings.network_mode,
        log_limit_bytes=settings.log_limit_bytes,
        read_only_root=settings.read_only_root,
    )


def revision_out(revision: ScriptRevision) -> Revision:
    contents = revision.file_contents()
    return Revision(
        number=revision.number,
        created_at=revision.created_at,
        content_hash=revision.content_hash,
        files=[_revision_file(path, contents[path]) for path in sorted(contents)],
        settings=_settings_out(revision.revision_settings()),
    )


def env_in(env: Sequence[EnvVarIn]) -> list[EnvInput]:
    return [EnvInput(name=v.name, value=v.value, secret=v.secret) for v in env]


def _kept(value: T | UnsetType) -> T | Keep:
    return KEEP if isinstance(value, UnsetType) else value


def limits_in(limits: LimitsIn) -> LimitsPatch:
    return LimitsPatch(
        memory_mb=_kept(limits.memory_mb), cpus=_kept(limits.cpus), pids=_kept(limits.pids)
    )


def patch_in(data: ScriptUpdate) -> ScriptPatch:
    """The service's patch: every field the body left out is ``KEEP``."""
    return ScriptPatch(
        name=_kept(data.name),
        description=_kept(data.description),
        image_id=_kept(data.image_id),
        entry_file=_kept(data.entry_file),
        env=KEEP if isinstance(data.env, UnsetType) else env_in(data.env),
        args=_kept(data.args),
        limits=LimitsPatch() if isinstance(data.limits, UnsetType) else limits_in(data.limits),
        timeout_seconds=_kept(data.timeout_seconds),
        network_mode=_kept(data.network_mode),
        log_limit_bytes=_kept(data.log_limit_bytes),
        read_only_root=_kept(data.read_only_root),
        keep_last=_kept(data.keep_last),
        keep_days=_kept(data.keep_days),
    )
