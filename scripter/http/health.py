"""GET /healthz: db, broker and docker, each ``ok`` or the error; 503 when any is down."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from scripter.bootstrap import Scripter
from scripter.http.auth import AUTH_OPT, PUBLIC, PublicOperation
from scripter.services.health import HealthReport


@get(
    "/healthz",
    tags=["system"],
    summary="Health of the database, the broker and Docker",
    # Open to load balancers and probes: it says what is up, nothing else.
    opt={AUTH_OPT: PUBLIC},
    operation_class=PublicOperation,
)
async def healthz(scripter: NamedDependency[Scripter]) -> Response[HealthReport]:
    report = await scripter.health()
    status = HTTP_200_OK if report.ok else HTTP_503_SERVICE_UNAVAILABLE
    return Response(report, status_code=status, headers={"Cache-Control": "no-store"})
