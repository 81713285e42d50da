"""The ``Allow`` header of the automatic answer to OPTIONS, corrected.

Litestar 2 builds the OPTIONS handler of a path when the path's first handler is
registered, and that handler keeps listing the methods known then: ``OPTIONS
/api/images/1`` answered ``Allow: DELETE, OPTIONS`` although GET and PATCH exist too
(litestar#4169, fixed only in Litestar 3). This ``before_send`` hook sets the header
from the routes as finally built.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import Message, Scope


class AllowHeader:
    def __init__(self) -> None:
        self._allow: dict[str, bytes] = {}

    def learn(self, routes: Iterable[BaseRoute]) -> None:
        """Take each path's methods from the app's routes (once they are built)."""
        for route in routes:
            if isinstance(route, HTTPRoute):
                methods = ", ".join(sorted(route.methods))
                self._allow[route.path_format] = methods.encode("latin-1")

    async def __call__(self, message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
            return
        allow = self._allow.get(scope.get("path_template", ""))
        if allow is None:
            return
        headers = [(n, v) for n, v in message.get("headers") or [] if bytes(n).lower() != b"allow"]
        message["headers"] = [*headers, (b"allow", allow)]
