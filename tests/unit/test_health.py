from __future__ import annotations

import asyncio

from scripter.services.health import check_health


async def ok() -> str:
    return "engine 20.10"


async def down() -> None:
    raise ConnectionRefusedError("connection refused")


async def hangs() -> None:
    await asyncio.Event().wait()


async def test_all_ok():
    report = await check_health({"db": ok, "docker": ok})
    assert report.ok
    assert report.checks["docker"].detail == "engine 20.10"


async def test_one_error_makes_the_report_an_error_and_names_it():
    report = await check_health({"db": ok, "broker": down})
    assert not report.ok
    assert report.checks["db"].status == "ok"
    assert report.checks["broker"].status == "error"
    assert report.checks["broker"].detail == "ConnectionRefusedError: connection refused"


async def test_a_probe_that_hangs_is_bounded():
    report = await check_health({"docker": hangs}, timeout=0.05)
    assert report.checks["docker"].status == "error"
    assert "no answer within 0.05 s" in (report.checks["docker"].detail or "")
