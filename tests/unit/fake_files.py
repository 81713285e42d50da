"""An in-memory ``FileStore`` for unit tests of services.

It keeps the contracts of ``scripter.adapters.files.LocalFileStore`` (missing files
are ``NotFound``, deleting a missing owner is fine, listings are sorted by path, a
file cannot become a folder or the reverse, logs read past their end are empty)
without touching the disk. The paths it hands out live under a made-up root and
name nothing real; they are keys into its dictionaries.

For assertions it exposes what it holds: ``sources`` per owner, ``logs`` per path,
the contexts ``staged`` and not yet discarded, every context ever staged
(``stage_history``) and those ``discarded``. Switches make it fail on demand:
``fail_writes`` (``write_file`` raises ``OSError``) and ``fail_stage``
(``stage_copy`` raises ``OSError``); ``free`` is what ``free_bytes`` answers, and at 0
``materialize`` fails as on a full disk.
"""

from __future__ import annotations

import errno
import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from scripter.domain.clock import Clock
from scripter.domain.errors import InvalidInput, NotFound
from scripter.domain.ports import FileInfo, SourceArea

FAKE_ROOT = Path("/fake-data")

Owner = tuple[SourceArea, int]


class FakeLogSink:
    """A ``LogSink`` appending to a shared in-memory buffer."""

    def __init__(self, buffer: bytearray) -> None:
        self._buffer = buffer
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.closed:
            raise ValueError("write to a closed log sink")
        self._buffer.extend(data)

    def close(self) -> None:
        self.closed = True


class FakeFileStore:
    def __init__(self, root: Path = FAKE_ROOT, *, clock: Clock | None = None) -> None:
        self.root = root
        self._clock = clock
        self.sources: dict[Owner, dict[str, bytes]] = {}
        self.modified: dict[Owner, dict[str, datetime]] = {}
        self.logs: dict[Path, bytearray] = {}
        self.sinks: list[FakeLogSink] = []
        """Every sink opened, in order (to check they were closed)."""
        self.staged: dict[Path, dict[str, bytes]] = {}
        """Contexts staged and not yet discarded: path -> their files."""
        self.stage_history: dict[Path, dict[str, bytes]] = {}
        """Every context ever staged, kept after discarding."""
        self.discarded: list[Path] = []
        self.folders: dict[Path, dict[str, bytes]] = {}
        """Folders made by ``materialize``: path -> their files."""
        self.fail_writes = False
        self.fail_stage = False
        self.free = 1 << 40
        """What ``free_bytes`` answers (a test fills the disk by lowering it)."""
        self._stage_ids = itertools.count(1)

    # --- paths --------------------------------------------------------------------

    def owner_dir(self, area: SourceArea, owner_id: int) -> Path:
        return self.root / area.value / str(owner_id)

    def source_dir(self, area: SourceArea, owner_id: int) -> Path:
        return self.owner_dir(area, owner_id) / "src"

    def build_log(self, image_id: int) -> Path:
        return self.owner_dir(SourceArea.IMAGES, image_id) / "build.log"

    # --- sources ------------------------------------------------------------------

    def files_of(self, area: SourceArea, owner_id: int) -> dict[str, bytes]:
        """A copy of an owner's files, for assertions."""
        return dict(self.sources.get((area, owner_id), {}))

    async def list_files(self, area: SourceArea, owner_id: int) -> list[FileInfo]:
        files = self.sources.get((area, owner_id), {})
        times = self.modified.get((area, owner_id), {})
        return [
            FileInfo(path=path, size=len(content), modified_at=times[path])
            for path, content in sorted(files.items())
        ]

    async def read_file(self, area: SourceArea, owner_id: int, path: PurePosixPath) -> bytes:
        files = self.sources.get((area, owner_id), {})
        if str(path) not in files:
            raise NotFound(f"file {path} not found")
        return files[str(path)]

    async def write_file(
        self, area: SourceArea, owner_id: int, path: PurePosixPath, content: bytes
    ) -> None:
        if self.fail_writes:
            raise OSError(28, "No space left on device")
        files = self.sources.get((area, owner_id), {})
        key = str(path)
        for parent in reversed(path.parents[:-1]):
            if str(parent) in files:
                raise InvalidInput(f"{parent} is a file, not a folder", field="path")
        if any(other.startswith(key + "/") for other in files):
            raise InvalidInput(f"{path} is a folder", field="path")
        self.sources.setdefault((area, owner_id), {})[key] = bytes(content)
        self.modified.setdefault((area, owner_id), {})[key] = self._now()

    async def delete_file(self, area: SourceArea, owner_id: int, path: PurePosixPath) -> None:
        files = self.sources.get((area, owner_id), {})
        if str(path) not in files:
            raise NotFound(f"file {path} not found")
        del files[str(path)]
        del self.modified[(area, owner_id)][str(path)]

    async def delete_owner(self, area: SourceArea, owner_id: int) -> None:
        self.sources.pop((area, owner_id), None)
        self.modified.pop((area, owner_id), None)
        folder = self.owner_dir(area, owner_id)
        for log in [p for p in self.logs if p.is_relative_to(folder)]:
            del self.logs[log]

    def owner_exists(self, area: SourceArea, owner_id: int) -> bool:
        """Whether anything of the owner is left (sources or logs)."""
        folder = self.owner_dir(area, owner_id)
        return bool(self.sources.get((area, owner_id))) or any(
            p.is_relative_to(folder) for p in self.logs
        )

    # --- build contexts -------------------------------------------------------------

    async def stage_copy(
        self, area: SourceArea, owner_id: int, overrides: Mapping[str, bytes]
    ) -> Path:
        if self.fail_stage:
            raise OSError(28, "No space left on device")
        staged = self.root / ".staging" / f"stage-{next(self._stage_ids)}"
        content = {**self.sources.get((area, owner_id), {}), **overrides}
        self.staged[staged] = content
        self.stage_history[staged] = dict(content)
        return staged

    async def discard_stage(self, staged: Path) -> None:
        self.staged.pop(staged, None)
        self.discarded.append(staged)

    # --- logs -----------------------------------------------------------------------

    async def open_log(self, path: Path, *, truncate: bool) -> FakeLogSink:
        buffer = self.logs.setdefault(path, bytearray())
        if truncate:
            del buffer[:]
        sink = FakeLogSink(buffer)
        self.sinks.append(sink)
        return sink

    async def read_range(self, path: Path, offset: int = 0, limit: int | None = None) -> bytes:
        buffer = self.logs.get(path)
        if buffer is None:
            return b""
        end = None if limit is None else offset + limit
        return bytes(buffer[offset:end])

    # --- jobs ---------------------------------------------------------------------

    def job_log(self, script_id: int, file_name: str) -> Path:
        return self.owner_dir(SourceArea.SCRIPTS, script_id) / "logs" / file_name

    def revision_dir(self, script_id: int, number: int) -> Path:
        return self.owner_dir(SourceArea.SCRIPTS, script_id) / "revisions" / str(number)

    async def materialize(self, folder: Path, files: Mapping[str, bytes]) -> None:
        if folder not in self.folders and not self.free:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.folders.setdefault(folder, dict(files))

    async def create_empty(self, path: Path) -> None:
        self.logs.setdefault(path, bytearray())

    async def size(self, path: Path) -> int:
        return len(self.logs.get(path, b""))

    async def cut(self, path: Path, limit: int, notice: bytes) -> None:
        buffer = self.logs.setdefault(path, bytearray())
        del buffer[limit:]
        buffer.extend(notice)

    async def free_bytes(self, path: Path) -> int:
        return self.free

    async def delete_path(self, path: Path) -> None:
        self.logs.pop(path, None)
        self.folders.pop(path, None)

    async def list_job_logs(self) -> list[Path]:
        scripts = self.root / SourceArea.SCRIPTS.value
        return sorted(
            p for p in self.logs if p.parent.name == "logs" and p.parent.parent.parent == scripts
        )

    def log_text(self, path: Path) -> str:
        return bytes(self.logs.get(path, b"")).decode()

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)
