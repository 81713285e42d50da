"""What a client asks to change in a script: patches, and how they apply."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from scripter.domain.errors import InvalidInput
from scripter.domain.scripts import EnvVar, NetworkMode, ResourceLimits, Script, validate_env_name


class Keep(enum.Enum):
    """The type of ``KEEP``."""

    KEEP = "keep"


KEEP = Keep.KEEP
"""In a patch: leave this setting as it is."""


@dataclass(kw_only=True, frozen=True)
class EnvInput:
    """A variable as a client gives it. A secret whose ``value`` is None keeps the
    value stored under its name, so a client can send the list back unchanged
    without knowing the secrets."""

    name: str
    value: str | None
    secret: bool = False


@dataclass(kw_only=True, frozen=True)
class LimitsPatch:
    """Limits to change; ``None`` means no limit, ``KEEP`` leaves one as it is."""

    memory_mb: int | Keep | None = KEEP
    cpus: float | Keep | None = KEEP
    pids: int | Keep | None = KEEP

    def applied_to(self, limits: ResourceLimits) -> ResourceLimits:
        changes = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return dataclasses.replace(limits, **{k: v for k, v in changes.items() if v is not KEEP})


@dataclass(kw_only=True, frozen=True)
class ScriptPatch:
    """The settings to change; every field left at ``KEEP`` stays as it is. ``env``
    and ``args`` replace the whole list; ``limits`` changes only the limits it names."""

    name: str | Keep = KEEP
    description: str | Keep = KEEP
    image_id: int | Keep = KEEP
    entry_file: str | Keep = KEEP
    env: Sequence[EnvInput] | Keep = KEEP
    args: Sequence[str] | Keep = KEEP
    limits: LimitsPatch = field(default_factory=LimitsPatch)
    timeout_seconds: int | Keep | None = KEEP
    network_mode: NetworkMode | Keep = KEEP
    log_limit_bytes: int | Keep | None = KEEP
    read_only_root: bool | Keep | None = KEEP
    keep_last: int | Keep | None = KEEP
    keep_days: int | Keep | None = KEEP


DEFAULT_LIMITS = LimitsPatch()
"""No change to the default limits."""

_PLAIN_FIELDS = (
    "name",
    "description",
    "image_id",
    "entry_file",
    "timeout_seconds",
    "network_mode",
    "log_limit_bytes",
    "read_only_root",
    "keep_last",
    "keep_days",
)


def apply_patch(script: Script, patch: ScriptPatch) -> None:
    """Change ``script`` as ``patch`` says (not validated yet: see ``validate_script``)."""
    for name in _PLAIN_FIELDS:
        value = getattr(patch, name)
        if value is not KEEP:
            setattr(script, name, value)
    script.network_mode = parse_network_mode(script.network_mode)
    if not isinstance(patch.env, Keep):
        script.env = resolve_env(patch.env, stored=script.env)
    if not isinstance(patch.args, Keep):
        script.args = list(patch.args)
    script.limits = patch.limits.applied_to(script.limits)


def script_fields(script: Script) -> dict[str, object]:
    """What a save stores of the script (to tell whether anything changed)."""
    return {
        f.name: getattr(script, f.name)
        for f in dataclasses.fields(script)
        if f.name not in ("events", "version")
    }


def resolve_env(given: Sequence[EnvInput], *, stored: Sequence[EnvVar]) -> list[EnvVar]:
    """The variables to store: a secret without a value keeps the stored one."""
    known = {v.name: v.value for v in stored}
    resolved: list[EnvVar] = []
    for i, var in enumerate(given):
        validate_env_name(var.name, field=f"env[{i}].name")
        value = var.value
        if value is None:
            if not var.secret:
                raise InvalidInput(f"{var.name} needs a value", field=f"env[{i}].value")
            if var.name not in known:
                raise InvalidInput(
                    f"secret {var.name} has no stored value to keep; give its value",
                    field=f"env[{i}].value",
                )
            value = known[var.name]
        resolved.append(EnvVar(name=var.name, value=value, secret=var.secret))
    return resolved


def parse_network_mode(value: str) -> NetworkMode:
    try:
        return NetworkMode(value)
    except ValueError:
        modes = ", ".join(m.value for m in NetworkMode)
        raise InvalidInput(f"network_mode must be one of {modes}", field="network_mode") from None
