"""The Litestar app factory: routes, error mapping, OpenAPI and the built UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from scripter import __version__
from scripter.bootstrap import Role, Scripter
from scripter.http.health import healthz
from scripter.http.images import ImageController
from scripter.http.problems import EXCEPTION_HANDLERS

PLACEHOLDER_UI = Path(__file__).parent / "placeholder"
REPO_UI = Path(__file__).resolve().parents[2] / "ui" / "dist"


def ui_directory(configured: str) -> Path:
    """The built UI: the configured folder, else ``ui/dist`` of this checkout, else a
    placeholder page that says how to build it."""
    if configured:
        return Path(configured)
    if (REPO_UI / "index.html").is_file():
        return REPO_UI
    return PLACEHOLDER_UI


def _openapi(ui: Path) -> OpenAPIConfig:
    # Swagger UI's assets are bundled by the UI build (ui/dist/vendor): the docs
    # page must work offline, and Litestar's defaults load them from a CDN.
    vendor = ui / "vendor" / "swagger-ui"
    plugin = (
        SwaggerRenderPlugin(
            path="/",
            js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
            css_url="/vendor/swagger-ui/swagger-ui.css",
            standalone_preset_js_url="/vendor/swagger-ui/swagger-ui-standalone-preset.js",
        )
        if vendor.is_dir()
        else SwaggerRenderPlugin(path="/")
    )
    return OpenAPIConfig(
        title="Scripter API",
        version=__version__,
        description="Run Python scripts in Docker, now or on a cron schedule.",
        path="/schema",
        render_plugins=[plugin],
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
    return Litestar(
        route_handlers=[
            healthz,
            ImageController,
            # Registered last and at "/": the explicit routes above stay reachable.
            create_static_files_router(path="/", directories=[ui], html_mode=True, name="ui"),
        ],
        dependencies={
            "scripter": Provide(lambda: scripter, use_cache=True, sync_to_thread=False),
            "images": Provide(lambda: scripter.images, use_cache=True, sync_to_thread=False),
        },
        # JSON bodies may carry base64 files: leave room above the per-file limit.
        request_max_body_size=scripter.config.images.max_file_bytes * 2 + 1024 * 1024,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=_openapi(ui),
        lifespan=[lifespan],
    )
