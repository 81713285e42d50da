"""Scripts and their revisions. Every save that changes files or settings is a revision.

A revision freezes what a job needs: every file of ``src/`` and the run settings
(``RevisionSettings``). Name, description and retention are the script's own and are not
part of revisions: changing only them makes no revision.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scripter.domain.errors import InvalidInput
from scripter.domain.events import ScriptSaved
from scripter.domain.model import Aggregate
from scripter.domain.names import validate_description, validate_name
from scripter.domain.paths import validate_relative_path

DEFAULT_ENTRY_FILE = "main.py"
HELLO_WORLD = 'print("Hello from Scripter!")\n'
"""The file a new script gets when it is given none."""

MAX_ENV_VARS = 200
MAX_ARGS = 200
MAX_VALUE_CHARS = 32 * 1024
"""Longest environment value or argument (Linux takes up to 128 KiB per string)."""
MIN_MEMORY_MB = 6
"""Docker refuses a memory limit below 6 MB."""
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
MIN_LOG_LIMIT_BYTES = 1024
MAX_INT = 2**31 - 1
"""Upper bound of counts and sizes that SQL ``INTEGER`` columns or Docker must hold."""
MAX_LOG_LIMIT_BYTES = 2**53
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_ENV_NAME = 255


class NetworkMode(enum.StrEnum):
    """How a job's container reaches the network."""

    NONE = "none"
    """No network at all (the default: scripts are isolated)."""
    BRIDGE = "bridge"
    """Docker's default bridge network."""
    HOST = "host"
    """The host's network stack."""


@dataclass(kw_only=True)
class ResourceLimits:
    """Per-job container limits; ``None`` means no limit."""

    memory_mb: int | None = 512
    cpus: float | None = 1.0
    pids: int | None = 256


@dataclass(kw_only=True)
class EnvVar:
    name: str
    value: str
    secret: bool = False
    """The API never returns a secret's value, only that it is set."""


@dataclass(kw_only=True, frozen=True)
class RevisionSettings:
    """Every setting a job of a revision runs with, besides its files.

    The JSON form (``to_json``) is what a revision stores, secret values included.
    """

    image_id: int
    entry_file: str
    env: tuple[EnvVar, ...]
    args: tuple[str, ...]
    limits: ResourceLimits
    timeout_seconds: int | None
    network_mode: NetworkMode
    log_limit_bytes: int | None
    read_only_root: bool | None = None
    """The job's root file system is read-only (``/tmp`` stays writable); None: the
    configured default (``jobs.read_only_root``)."""

    def to_json(self) -> dict[str, object]:
        limits = self.limits
        return {
            "image_id": self.image_id,
            "entry_file": self.entry_file,
            "env": [{"name": v.name, "value": v.value, "secret": v.secret} for v in self.env],
            "args": list(self.args),
            "limits": {"memory_mb": limits.memory_mb, "cpus": limits.cpus, "pids": limits.pids},
            "timeout_seconds": self.timeout_seconds,
            "network_mode": self.network_mode.value,
            "log_limit_bytes": self.log_limit_bytes,
            "read_only_root": self.read_only_root,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RevisionSettings:
        limits = data["limits"]
        cpus = limits.get("cpus")
        return cls(
            image_id=int(data["image_id"]),
            entry_file=str(data["entry_file"]),
            env=tuple(
                EnvVar(name=v["name"], value=v["value"], secret=bool(v.get("secret", False)))
                for v in data["env"]
            ),
            args=tuple(str(a) for a in data["args"]),
            limits=ResourceLimits(
                memory_mb=limits.get("memory_mb"),
                # JSON does not keep 2.0 apart from 2.
                cpus=None if cpus is None else float(cpus),
                pids=limits.get("pids"),
            ),
            timeout_seconds=data["timeout_seconds"],
            network_mode=NetworkMode(data["network_mode"]),
            log_limit_bytes=data["log_limit_bytes"],
            # Revisions saved before the setting existed ran with the default.
            read_only_root=data.get("read_only_root"),
        )


def content_hash(files: Mapping[str, bytes]) -> str:
    """The SHA-256 (lowercase hex) of a set of files, independent of their order.

    The digest is fed, for each file in ascending order of the UTF-8 bytes of its
    path: the length of the path's UTF-8 bytes as an 8-byte big-endian unsigned
    integer, those bytes, the length of the content likewise, then the content.
    The length prefixes make the encoding unambiguous: no two different file sets
    feed the same bytes. Nothing else (times, modes, settings) is hashed.
    """
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.encode()):
        encoded, content = path.encode(), files[path]
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
        digest.update(len(content).to_bytes(8, "big"))
        digest.update(content)
    return digest.hexdigest()


def encode_files(files: Mapping[str, bytes]) -> dict[str, str]:
    """Files as a revision stores them: path -> base64 of the content."""
    return {path: base64.b64encode(content).decode("ascii") for path, content in files.items()}


@dataclass(kw_only=True, eq=False)
class ScriptRevision:
    """A frozen copy of a script's files and settings; jobs run exactly this.

    ``files`` maps each relative path to the base64 of its content (so binary files
    survive JSON); read them with ``file_contents``. ``settings`` is the JSON form
    of ``RevisionSettings`` (secret values included); read it with ``revision_settings``.
    """

    id: int | None = None
    script_id: int
    number: int
    content_hash: str
    files: dict[str, str]
    settings: dict[str, object]
    created_at: datetime

    def file_contents(self) -> dict[str, bytes]:
        return {path: base64.b64decode(text) for path, text in self.files.items()}

    def file_sizes(self) -> dict[str, int]:
        """Path -> size in bytes, sorted by path."""
        return {path: len(base64.b64decode(self.files[path])) for path in sorted(self.files)}

    def revision_settings(self) -> RevisionSettings:
        return RevisionSettings.from_json(self.settings)


@dataclass(kw_only=True, eq=False)
class Script(Aggregate):
    name: str
    description: str = ""
    image_id: int
    entry_file: str = DEFAULT_ENTRY_FILE
    env: list[EnvVar] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    timeout_seconds: int | None = 3600
    network_mode: NetworkMode = NetworkMode.NONE
    log_limit_bytes: int | None = None
    """Most bytes of output a job keeps; None: the configured default."""
    read_only_root: bool | None = None
    """Jobs see a read-only root file system (with a writable ``/tmp``); None: the
    configured default (``jobs.read_only_root``)."""
    keep_last: int | None = None
    """Retention: keep this many newest finished jobs; None: the configured default."""
    keep_days: int | None = None
    """Retention: keep finished jobs younger than this; None: the configured default."""
    current_revision: int = 0
    """The number of the newest revision (0 only before the first is saved)."""
    created_at: datetime
    updated_at: datetime

    def revision_settings(self) -> RevisionSettings:
        return RevisionSettings(
            image_id=self.image_id,
            entry_file=self.entry_file,
            env=tuple(dataclasses.replace(v) for v in self.env),
            args=tuple(self.args),
            limits=dataclasses.replace(self.limits),
            timeout_seconds=self.timeout_seconds,
            network_mode=self.network_mode,
            log_limit_bytes=self.log_limit_bytes,
            read_only_root=self.read_only_root,
        )

    def apply(self, settings: RevisionSettings) -> None:
        """Take every run setting of ``settings`` (e.g. of a revision being restored)."""
        self.image_id = settings.image_id
        self.entry_file = settings.entry_file
        self.env = [dataclasses.replace(v) for v in settings.env]
        self.args = list(settings.args)
        self.limits = dataclasses.replace(settings.limits)
        self.timeout_seconds = settings.timeout_seconds
        self.network_mode = settings.network_mode
        self.log_limit_bytes = settings.log_limit_bytes
        self.read_only_root = settings.read_only_root

    def revise(
        self, current: ScriptRevision | None, now: datetime, files: Mapping[str, bytes] | None
    ) -> ScriptRevision | None:
        """The next revision, if the files or the run settings differ from ``current``
        (the script's newest revision; None for a new script); else None.

        ``files`` is the whole new file set, or None when the files did not change.
        A new revision becomes the script's current one and raises ``ScriptSaved``.
        """
        settings = self.revision_settings()
        if files is not None:
            encoded, digest = encode_files(files), content_hash(files)
        elif current is not None:
            encoded, digest = dict(current.files), current.content_hash
        else:
            raise ValueError("a script's first revision needs its files")
        if (
            current is not None
            and current.content_hash == digest
            and current.revision_settings() == settings
        ):
            return None
        revision = ScriptRevision(
            script_id=self.require_id,
            number=self.current_revision + 1,
            content_hash=digest,
            files=encoded,
            settings=settings.to_json(),
            created_at=now,
        )
        self.current_revision = revision.number
        self.updated_at = now
        self.raise_event(ScriptSaved(script_id=self.require_id, revision=revision.number))
        return revision


# --- rules ------------------------------------------------------------------------------


def validate_script(script: Script) -> None:
    """Every rule a script's own fields follow; raises ``InvalidInput`` naming the first
    field at fault. (That the image exists and the entry file is one of the files
    needs the outside world: the service checks those.)"""
    validate_name(script.name)
    validate_description(script.description)
    validate_relative_path(script.entry_file, field="entry_file")
    validate_env(script.env)
    validate_args(script.args)
    validate_limits(script.limits)
    _check_range(script.timeout_seconds, "timeout_seconds", 1, MAX_TIMEOUT_SECONDS)
    _check_range(
        script.log_limit_bytes, "log_limit_bytes", MIN_LOG_LIMIT_BYTES, MAX_LOG_LIMIT_BYTES
    )
    _check_range(script.keep_last, "keep_last", 1, MAX_INT)
    _check_range(script.keep_days, "keep_days", 1, MAX_INT)


def validate_env_name(name: str, *, field: str) -> str:
    if len(name) > _MAX_ENV_NAME or not _ENV_NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a valid variable name: use letters, digits and '_', "
            f"not starting with a digit, at most {_MAX_ENV_NAME} characters",
            field=field,
        )
    return name


def validate_env(env: Sequence[EnvVar]) -> None:
    if len(env) > MAX_ENV_VARS:
        raise InvalidInput(f"at most {MAX_ENV_VARS} environment variables", field="env")
    seen: set[str] = set()
    for i, var in enumerate(env):
        validate_env_name(var.name, field=f"env[{i}].name")
        if var.name in seen:
            raise InvalidInput(f"variable {var.name} is given twice", field=f"env[{i}].name")
        seen.add(var.name)
        _check_text(var.value, f"env[{i}].value", f"the value of {var.name}")


def validate_args(args: Sequence[str]) -> None:
    if len(args) > MAX_ARGS:
        raise InvalidInput(f"at most {MAX_ARGS} arguments", field="args")
    for i, arg in enumerate(args):
        _check_text(arg, f"args[{i}]", f"argument {i + 1}")


def validate_limits(limits: ResourceLimits) -> None:
    _check_range(limits.memory_mb, "limits.memory_mb", MIN_MEMORY_MB, MAX_INT)
    cpus = limits.cpus
    if cpus is not None and not (math.isfinite(cpus) and 0 < cpus <= MAX_INT):
        raise InvalidInput("limits.cpus must be more than 0", field="limits.cpus")
    _check_range(limits.pids, "limits.pids", 1, MAX_INT)


def _check_range(value: int | None, field: str, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise InvalidInput(f"{field} must be from {low} to {high}, or null", field=field)


def _check_text(text: str, field: str, what: str) -> None:
    if "\x00" in text:
        raise InvalidInput(f"{what} contains a NUL character", field=field)
    if len(text) > MAX_VALUE_CHARS:
        raise InvalidInput(f"{what} is over {MAX_VALUE_CHARS} characters", field=field)
