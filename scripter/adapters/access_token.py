"""The access token in the data directory: ``<data>/auth-token``, owner-only.

Every api process shares the data directory, so the file is the one truth: made
once (the first process to start wins, the others read it), replaced whole by a
rotation (write aside, rename over), and re-read by each process when its inode,
size or modification time changes. One ``stat`` per request costs microseconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
import time
from pathlib import Path

from scripter.domain.ports import TokenUnavailable

log = logging.getLogger(__name__)

TOKEN_FILE_NAME = "auth-token"
_EMPTY_READ_RETRIES = 20
"""Where hard links are refused (some network file systems) the file is made with
O_EXCL and written after: a reader may catch it empty for a moment."""


def token_path(data_directory: Path) -> Path:
    return data_directory / TOKEN_FILE_NAME


def new_token() -> str:
    return secrets.token_urlsafe(32)


class TokenFile:
    """``AccessTokenStore`` on a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int, int] | None = None
        self._token = ""

    def current(self) -> str:
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise TokenUnavailable(f"{self.path}: {exc.strerror}") from None
        seen = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if seen != self._seen or not self._token:
            token = self._read()
            if not token:
                raise TokenUnavailable(f"{self.path} is empty")
            self._token, self._seen = token, seen
        return self._token

    def ensure(self) -> tuple[str, bool]:
        created = not self.path.exists() and self._create(new_token())
        token = self._read_settled()
        if not token:
            raise TokenUnavailable(f"{self.path} is empty: run `scripter token rotate`")
        if not created:
            self._warn_if_shared()
        return token, created

    def rotate(self) -> str:
        token = new_token()
        previous_owner = self._owner()
        temporary = self._write_aside(token)
        try:
            self._hand_over(temporary, previous_owner)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return token

    def _create(self, token: str) -> bool:
        """Make the file with ``token`` unless it exists. Written aside and hard-linked
        into place: the link appears complete or fails with EEXIST, so a process that
        starts at the same moment never reads a half-written token."""
        temporary = self._write_aside(token)
        try:
            os.link(temporary, self.path)
            return True
        except FileExistsError:
            return False
        except OSError:
            return self._create_exclusive(token)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    def _create_exclusive(self, token: str) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def _write_aside(self, token: str) -> str:
        # mkstemp creates the file 0600 with O_EXCL.
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".auth-token-")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(token + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            os.unlink(temporary)
            raise
        return temporary

    def _read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenUnavailable(f"{self.path} cannot be read: {exc}") from None

    def _read_settled(self) -> str:
        for _ in range(_EMPTY_READ_RETRIES):
            token = self._read()
            if token:
                return token
            time.sleep(0.05)
        return ""

    def _owner(self) -> tuple[int, int]:
        """Who must own the token: the previous file's owner, else the data folder's."""
        for candidate in (self.path, self.path.parent):
            with contextlib.suppress(OSError):
                stat = candidate.stat()
                return stat.st_uid, stat.st_gid
        return os.getuid(), os.getgid()

    def _hand_over(self, temporary: str, owner: tuple[int, int]) -> None:
        # `docker compose exec api scripter token rotate` runs as root: a token file
        # owned by root (0600) would lock out the api processes, which run as
        # `scripter`. Give it to whoever owned the old one.
        if os.geteuid() == 0 and owner != (0, 0):
            os.chown(temporary, *owner)

    def _warn_if_shared(self) -> None:
        with contextlib.suppress(OSError):
            mode = self.path.stat().st_mode
            if mode & 0o077:
                log.warning(
                    "%s can be read by other users (mode %o): chmod 600 it",
                    self.path,
                    mode & 0o777,
                )
