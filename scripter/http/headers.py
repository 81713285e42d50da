"""Security headers on every response: the UI, the API, the docs, errors included.

A ``before_send`` hook rather than a middleware: Litestar runs hooks for every
response, also the 404 and 405 its router answers before any middleware runs.

The policy fits what the built UI (``ui/dist``) and the docs page need: scripts
only as files from this origin (Vite emits no inline script, and the docs page loads
its start-up script as a file), images from here or ``data:`` URLs (Swagger UI's
icons), fetch and EventSource to this origin. Styles may also be inline: the code
editor (CodeMirror, through style-mod) puts its themes into a ``<style>`` element it
creates at run time, whose content no hash can name; a nonce would need index.html
rewritten per request, for little gain where scripts are locked down.
"""

from __future__ import annotations

from litestar.types import Message, Scope

CDN = "https://cdn.jsdelivr.net"
"""Where Litestar's Swagger page loads its files from when the UI build (which
bundles them in ``vendor/``) is missing."""


def content_security_policy(*, extra_sources: str = "") -> str:
    extra = f" {extra_sources}" if extra_sources else ""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self'{extra}",
            f"style-src 'self' 'unsafe-inline'{extra}",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """The ``before_send`` hook. ``docs_from_cdn``: the docs pages (``/schema``) may
    load Swagger UI from the CDN (only when the UI build is missing)."""

    def __init__(self, *, docs_from_cdn: bool = False) -> None:
        policy = content_security_policy()
        docs_policy = content_security_policy(extra_sources=CDN) if docs_from_cdn else policy
        common = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        }
        self._headers = _encoded({**common, "Content-Security-Policy": policy})
        self._docs_headers = _encoded({**common, "Content-Security-Policy": docs_policy})

    async def __call__(self, message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        path: str = scope.get("path", "")
        chosen = self._docs_headers if path.startswith("/schema") else self._headers
        headers = list(message.get("headers") or [])
        # A response that set one of these itself keeps its own.
        present = {bytes(name).lower() for name, _ in headers}
        headers.extend(pair for pair in chosen if pair[0] not in present)
        message["headers"] = headers


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]
