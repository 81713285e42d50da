"""The Litestar app factory: routes, error mapping, OpenAPI and the built UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from litestar import HttpMethod, Litestar, Request, route
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.file_system import BaseLocalFileSystem
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.response.file import ASGIFileResponse
from litestar.static_files import StaticFiles

from scripter import __version__
from scripter.bootstrap import Role, Scripter
from scripter.http.allow import AllowHeader
from scripter.http.auth import AUTH_OPT, SECURITY_SCHEME, UI, AuthMiddleware, SessionController
from scripter.http.docs import SwaggerPage
from scripter.http.headers import SecurityHeaders
from scripter.http.health import healthz
from scripter.http.images import ImageController
from scripter.http.jobs import JobController, RunController
from scripter.http.live import LiveController
from scripter.http.openapi import document_problems
from scripter.http.problems import EXCEPTION_HANDLERS
from scripter.http.schedules import ScheduleController, ScriptScheduleController
from scripter.http.scripts import ScriptController
from scripter.http.strict import strict_json_body

PLACEHOLDER_UI = Path(__file__).parent / "placeholder"
REPO_UI = Path(__file__).resolve().parents[2] / "ui" / "dist"
SERVER_PREFIXES = frozenset({"api", "schema", "healthz"})
"""First path segments the server owns: never answered with a UI file."""


def ui_directory(configured: str) -> Path:
    """The built UI: the configured folder, else ``ui/dist`` of this checkout, else a
    placeholder page that says how to build it."""
    if configured:
        return Path(configured)
    if (REPO_UI / "index.html").is_file():
        return REPO_UI
    return PLACEHOLDER_UI


def ui_handler(directory: Path) -> HTTPRouteHandler:
    """GET/HEAD of every path no other route claims: a file of the built UI, else
    ``index.html`` so that client-side routes (``/images/3``) load the app.

    Paths under the server's own prefixes (``/api/...``) and missing files with an
    extension (``/assets/gone.js``) are 404 problems instead, never the app's HTML.
    """
    files = StaticFiles(
        is_html_mode=True, directories=[directory], file_system=BaseLocalFileSystem()
    )

    @route(
        ["/", "/{file_path:path}"],
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        name="ui",
        include_in_schema=False,
        # Public, so the browser can load the login screen; under the server's own
        # prefixes (/api/..., /schema/...) the token is still required.
        opt={AUTH_OPT: UI},
    )
    async def ui_file(request: Request[Any, Any, Any]) -> ASGIFileResponse:
        path = PurePosixPath("/", request.path_params.get("file_path") or "/")
        head = request.method == HttpMethod.HEAD
        if len(path.parts) > 1 and path.parts[1] in SERVER_PREFIXES:
            raise NotFoundException(f"no route for {request.method} {path}")
        try:
            return await files.handle(path=path.as_posix(), is_head_response=head)
        except NotFoundException:
            if "." in path.name:
                raise NotFoundException(f"no file at {path}") from None
        return await files.handle(path="/index.html", is_head_response=head)

    return ui_file


def _openapi(ui: Path, *, auth: bool) -> OpenAPIConfig:
    # Swagger UI's assets are bundled by the UI build (ui/dist/vendor): the docs
    # page must work offline, and Litestar's defaults load them from a CDN. So does
    # its default favicon: use the UI's own (or none; browsers then try /favicon.ico).
    # SwaggerPage starts it from a file rather than inline script (the CSP).
    vendor = ui / "vendor" / "swagger-ui"
    favicon = (
        "<link rel='icon' type='image/svg+xml' href='/favicon.svg'>"
        if (ui / "favicon.svg").is_file()
        else ""
    )
    plugin = (
        SwaggerPage(
            path="/",
            js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
            css_url="/vendor/swagger-ui/swagger-ui.css",
            standalone_preset_js_url="/vendor/swagger-ui/swagger-ui-standalone-preset.js",
            favicon=favicon,
        )
        if vendor.is_dir()
        else SwaggerPage(path="/", favicon=favicon)
    )
    # The token as the document's one security scheme: Swagger UI's "Authorize"
    # takes it, and clients generated from the document send it. (The browser's
    # session cookie works as well, but OpenAPI cannot say "either".)
    scheme = SecurityScheme(
        type="http", scheme="bearer", description="The access token (`scripter token show`)."
    )
    return OpenAPIConfig(
        title="Scripter API",
        version=__version__,
        description="Run Python scripts in Docker, now or on a cron schedule.",
        path="/schema",
        render_plugins=[plugin],
        components=Components(security_schemes={SECURITY_SCHEME: scheme} if auth else None),
        security=[{SECURITY_SCHEME: []}] if auth else None,
    )


def create_app(scripter: Scripter, *, roles: set[Role], migrate: bool = False) -> Litestar:
    """The ASGI app. Its lifespan starts ``scripter`` for ``roles`` and stops it."""

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await scripter.start(roles, migrate=migrate)
        try:
            yield
        finally:
            await scripter.stop()

    ui = ui_directory(scripter.config.server.ui_directory)
    middleware = [] if scripter.auth is None else [AuthMiddleware(scripter.auth, SERVER_PREFIXES)]
    allow = AllowHeader()
    app = Litestar(
        route_handlers=[
            healthz,
            SessionController,
            ImageController,
            ScriptController,
            RunController,
            JobController,
            LiveController,
            ScriptScheduleController,
            ScheduleController,
            # At "/" with a path parameter: the explicit routes above take precedence.
            ui_handler(ui),
        ],
        dependencies={
            "scripter": Provide(lambda: scripter, use_cache=True, sync_to_thread=False),
            "images": Provide(lambda: scripter.images, use_cache=True, sync_to_thread=False),
            "scripts": Provide(lambda: scripter.scripts, use_cache=True, sync_to_thread=False),
            "jobs": Provide(lambda: scripter.jobs, use_cache=True, sync_to_thread=False),
            "live_logs": Provide(lambda: scripter.live_logs, use_cache=True, sync_to_thread=False),
            "live_feed": Provide(lambda: scripter.live_feed, use_cache=True, sync_to_thread=False),
            "schedules": Provide(lambda: scripter.schedules, use_cache=True, sync_to_thread=False),
        },
        # JSON bodies may carry base64 files: leave room above the per-file limit.
        request_max_body_size=scripter.config.images.max_file_bytes * 2 + 1024 * 1024,
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=strict_json_body,
        openapi_config=_openapi(ui, auth=scripter.auth is not None),
        middleware=middleware,
        before_send=[
            allow,
            SecurityHeaders(docs_from_cdn=not (ui / "vendor" / "swagger-ui").is_dir()),
        ],
        lifespan=[lifespan],
    )
    # Built now (it is cached): every error response, as the handlers answer them.
    document_problems(app.openapi_schema)
    allow.learn(app.routes)
    return app
