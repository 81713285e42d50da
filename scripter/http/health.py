"""GET /healthz: db, broker and docker, each ``ok`` or the error; 503 when any is down."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from scripter.bootstrap import Scripter
from scripter.services.health import HealthReport


@get("/healthz", tags=["system"], summary="Health of the database, the broker and Docker")
async def healthz(scripter: NamedDependency[Scripter]) -> Response[HealthReport]:
    report = await scripter.health()
    status = HTTP_200_OK if report.ok else HTTP_503_SERVICE_UNAVAILABLE
    return Response(report, status_code=status, headers={"Cache-Control": "no-store"})
