"""Files of images and scripts, as the API sends and receives them."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Literal

import msgspec

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


def relative_path(path: str) -> str:
    """A path parameter without the leading slash Litestar keeps."""
    return path[1:] if path.startswith("/") else path
