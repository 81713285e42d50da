"""Files of images and scripts, as the API sends and receives them."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote

import msgspec
from litestar import Request

from scripter.domain.errors import InvalidInput
from scripter.domain.ports import FileInfo


class FileEntry(msgspec.Struct):
    path: str
    size: int
    modified_at: datetime


class NewFile(msgspec.Struct):
    path: str
    content: str
    encoding: Literal["utf-8", "base64"] = "utf-8"


def file_entry(info: FileInfo) -> FileEntry:
    return FileEntry(path=info.path, size=info.size, modified_at=info.modified_at)


def decode_file(new: NewFile) -> bytes:
    if new.encoding == "utf-8":
        return new.content.encode()
    try:
        return base64.b64decode(new.content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("content is not valid base64", field=f"files.{new.path}") from None


def relative_path(path: str, request: Request[Any, Any, Any] | None = None) -> str:
    """The file path of a ``.../files/{path}`` URL, as the client sent it.

    Litestar's path parameter is normalised: ``//`` collapsed, a trailing ``/``
    dropped, so ``files//etc/passwd`` arrived as ``/etc/passwd`` (read as
    ``etc/passwd``) and ``a//b`` as ``a/b``. The request's raw path keeps what was
    sent; it is decoded once (``%2e%2e`` is ``..``; ``%252e`` only ``%2e``) and
    ``validate_relative_path`` then refuses what is not a plain relative path.
    Without a raw path: the parameter, less the leading slash Litestar keeps.
    """
    raw = request.scope.get("raw_path") if request is not None else None
    if isinstance(raw, bytes):
        text = raw.decode("latin-1")
        marker = text.find(_FILES)
        if marker != -1:
            try:
                return unquote(text[marker + len(_FILES) :], errors="strict")
            except UnicodeDecodeError:
                raise InvalidInput("the file path is not UTF-8", field="path") from None
    return path[1:] if path.startswith("/") else path


_FILES = "/files/"
"""Where the file path starts in ``/api/<area>/<id>/files/<path>`` (the first such
part: the id is a number)."""
