"""User-supplied file names: relative paths inside an image's or script's ``src/``."""

from __future__ import annotations

from pathlib import PurePosixPath

from scripter.domain.errors import InvalidInput

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 1024


def validate_relative_path(raw: str, *, field: str = "path") -> PurePosixPath:
    """The normalised path, or ``InvalidInput`` saying what is wrong with it.

    Refused: empty, absolute, ``..`` or ``.`` parts, backslashes, NUL and other
    control characters, a part over 255 bytes, a whole path over 1024 bytes.
    (Symlinks on disk are refused by the file store, which can see them.)
    """
    if not raw:
        raise InvalidInput("the file path is empty", field=field)
    if "\x00" in raw:
        raise InvalidInput("the file path contains a NUL byte", field=field)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise InvalidInput("the file path contains a control character", field=field)
    if "\\" in raw:
        raise InvalidInput("the file path contains a backslash; use '/'", field=field)
    if raw.startswith("/"):
        raise InvalidInput(f"{raw!r} is absolute; give a path relative to src/", field=field)
    if len(raw.encode()) > MAX_PATH_BYTES:
        raise InvalidInput(f"the file path is over {MAX_PATH_BYTES} bytes", field=field)
    parts = raw.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise InvalidInput(
                f"{raw!r} has an empty, '.' or '..' part; give a plain relative path",
                field=field,
            )
        if len(part.encode()) > MAX_NAME_BYTES:
            raise InvalidInput(f"a name in {raw!r} is over {MAX_NAME_BYTES} bytes", field=field)
    return PurePosixPath(*parts)
