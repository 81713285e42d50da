"""Raw request bodies read with a size limit, so an oversize upload is refused (413)
without being held in memory whole."""

from __future__ import annotations

from typing import Any

from litestar import Request

from scripter.domain.errors import PayloadTooLarge


async def read_limited(
    request: Request[Any, Any, Any], limit: int, field: str = "content"
) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"the file is {declared} bytes; the limit is {limit} bytes", field=field
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the file is over the limit of {limit} bytes", field=field)
        chunks.append(chunk)
    return b"".join(chunks)
