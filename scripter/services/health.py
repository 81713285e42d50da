"""Health: ask every dependency at once, each answer bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import msgspec

Probe = Callable[[], Awaitable[object]]


class CheckResult(msgspec.Struct, frozen=True, omit_defaults=True):
    status: str
    """``ok`` or ``error``."""
    detail: str | None = None


class HealthReport(msgspec.Struct, frozen=True):
    status: str
    """``ok`` when every check is ok, else ``error``."""
    checks: dict[str, CheckResult]

    @property
    def ok(self) -> bool:
        return self.status == "ok"


async def check_health(probes: Mapping[str, Probe], timeout: float = 3.0) -> HealthReport:
    """Run every probe concurrently; a probe that raises or exceeds ``timeout`` is an
    error whose detail says why. Never raises."""

    async def run(probe: Probe) -> CheckResult:
        try:
            detail = await asyncio.wait_for(probe(), timeout)
        except TimeoutError:
            return CheckResult("error", f"no answer within {timeout:g} s")
        except Exception as exc:  # every failure is a finding, not a crash
            return CheckResult("error", f"{type(exc).__name__}: {exc}".strip())
        return CheckResult("ok", detail if isinstance(detail, str) and detail else None)

    names = list(probes)
    results = await asyncio.gather(*(run(probes[name]) for name in names))
    checks = dict(zip(names, results, strict=True))
    status = "ok" if all(r.status == "ok" for r in results) else "error"
    return HealthReport(status, checks)
