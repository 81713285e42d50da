"""Scripts and their revisions. Every save that changes files or settings is a revision."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from scripter.domain.model import Aggregate


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
    memory_mb: int | None = 512
    cpus: float | None = 1.0
    pids: int | None = 256


@dataclass(kw_only=True)
class EnvVar:
    name: str
    value: str
    secret: bool = False


@dataclass(kw_only=True, eq=False)
class Script(Aggregate):
    name: str
    description: str = ""
    image_id: int
    entry_file: str = "main.py"
    env: list[EnvVar] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    timeout_seconds: int | None = 3600
    network_mode: NetworkMode = NetworkMode.NONE
    log_limit_bytes: int | None = None
    """Most bytes of output a job keeps; None: the configured default."""
    keep_last: int | None = None
    """Retention: keep this many newest finished jobs; None: the configured default."""
    keep_days: int | None = None
    """Retention: keep finished jobs younger than this; None: the configured default."""
    current_revision: int = 0
    created_at: datetime
    updated_at: datetime


@dataclass(kw_only=True, eq=False)
class ScriptRevision:
    """A frozen copy of a script's files and settings; jobs run exactly this.

    ``files`` maps relative paths to their contents (base64 for binary files is the
    caller's choice; the domain only sees bytes-as-text it was given).
    """

    id: int | None = None
    script_id: int
    number: int
    content_hash: str
    files: dict[str, str]
    settings: dict[str, object]
    created_at: datetime
