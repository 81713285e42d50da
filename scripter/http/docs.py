"""The API docs page (Swagger UI at /schema), without inline script or style.

Litestar's Swagger page starts Swagger UI from an inline ``<script>`` holding the
whole OpenAPI document, which the Content-Security-Policy (``headers.py``) refuses.
This page loads the same files plus a small start-up script served beside it (all
``defer``: they run in order once the page is parsed); the document is fetched from
``/schema/openapi.json`` (with the browser's session cookie, like every docs
request).
"""

from __future__ import annotations

import html
from typing import Any

from litestar import Request, Router, get
from litestar.openapi.plugins import SwaggerRenderPlugin

START_SCRIPT = "swagger-start.js"

_START = """\
// Starts Swagger UI (see scripter/http/docs.py); a file, as the CSP forbids inline script.
document.body.style.margin = "0";
var container = document.getElementById("swagger-container");
window.ui = SwaggerUIBundle({
  url: container.dataset.specUrl,
  dom_id: "#swagger-container",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


class SwaggerPage(SwaggerRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec_url = html.escape(self.get_openapi_json_route(request))
        start_url = html.escape(request.app.route_reverse(START_SCRIPT))
        return f"""<!DOCTYPE html>
<html>
  <head>
    <title>{title}</title>
    {self.favicon}
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <link href="{html.escape(self.css_url)}" rel="stylesheet">
    <script src="{html.escape(self.js_url)}" defer></script>
    <script src="{html.escape(self.standalone_preset_js_url)}" defer></script>
    <script src="{start_url}" defer></script>
  </head>
  <body>
    <div id="swagger-container" data-spec-url="{spec_url}"></div>
  </body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)
        router.register(
            get(
                f"/{START_SCRIPT}",
                name=START_SCRIPT,
                media_type="text/javascript; charset=utf-8",
                sync_to_thread=False,
                include_in_schema=False,
            )(_start_script)
        )


def _start_script() -> str:
    return _START
