"""The data directory on the local file system (ARCHITECTURE.md section 4).

Blocking file calls run in a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from scripter.domain.errors import InvalidInput, NotFound
from scripter.domain.ports import FileInfo, SourceArea


class LocalFileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def owner_dir(self, area: SourceArea, owner_id: int) -> Path:
        return self.root / area.value / str(owner_id)

    def source_dir(self, area: SourceArea, owner_id: int) -> Path:
        return self.owner_dir(area, owner_id) / "src"

    def build_log(self, image_id: int) -> Path:
        return self.owner_dir(SourceArea.IMAGES, image_id) / "build.log"

    async def list_files(self, area: SourceArea, owner_id: int) -> list[FileInfo]:
        return await asyncio.to_thread(self._list, self.source_dir(area, owner_id))

    async def read_file(self, area: SourceArea, owner_id: int, path: PurePosixPath) -> bytes:
        return await asyncio.to_thread(self._read, self.source_dir(area, owner_id), path)

    async def write_file(
        self, area: SourceArea, owner_id: int, path: PurePosixPath, content: bytes
    ) -> None:
        await asyncio.to_thread(self._write, self.source_dir(area, owner_id), path, content)

    async def delete_file(self, area: SourceArea, owner_id: int, path: PurePosixPath) -> None:
        await asyncio.to_thread(self._delete, self.source_dir(area, owner_id), path)

    async def delete_owner(self, area: SourceArea, owner_id: int) -> None:
        await asyncio.to_thread(shutil.rmtree, self.owner_dir(area, owner_id), True)

    async def read_range(self, path: Path, offset: int = 0, limit: int | None = None) -> bytes:
        return await asyncio.to_thread(_read_range, path, offset, limit)

    async def stage_copy(
        self, area: SourceArea, owner_id: int, overrides: Mapping[str, bytes]
    ) -> Path:
        return await asyncio.to_thread(self._stage, self.source_dir(area, owner_id), overrides)

    async def discard_stage(self, staged: Path) -> None:
        await asyncio.to_thread(shutil.rmtree, staged, True)

    async def open_log(self, path: Path, *, truncate: bool) -> FileLogSink:
        return await asyncio.to_thread(FileLogSink, path, truncate)

    def job_log(self, script_id: int, file_name: str) -> Path:
        return self.owner_dir(SourceArea.SCRIPTS, script_id) / "logs" / file_name

    def revision_dir(self, script_id: int, number: int) -> Path:
        return self.owner_dir(SourceArea.SCRIPTS, script_id) / "revisions" / str(number)

    async def materialize(self, folder: Path, files: Mapping[str, bytes]) -> None:
        await asyncio.to_thread(_materialize, folder, files)

    async def create_empty(self, path: Path) -> None:
        await asyncio.to_thread(_create_empty, path)

    async def size(self, path: Path) -> int:
        return await asyncio.to_thread(_size, path)

    async def cut(self, path: Path, limit: int, notice: bytes) -> None:
        await asyncio.to_thread(_cut, path, limit, notice)

    async def free_bytes(self, path: Path) -> int:
        return await asyncio.to_thread(_free_bytes, path)

    async def delete_path(self, path: Path) -> None:
        await asyncio.to_thread(_delete_path, path)

    async def list_job_logs(self) -> list[Path]:
        return await asyncio.to_thread(_list_job_logs, self.root / SourceArea.SCRIPTS.value)

    # --- blocking parts, run in a thread ---------------------------------------------

    @staticmethod
    def _list(src: Path) -> list[FileInfo]:
        found: list[FileInfo] = []
        if not src.is_dir():
            return found
        for dirpath, dirnames, filenames in os.walk(src):
            # Never follow or report symlinks: only regular files are sources.
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            for name in filenames:
                full = Path(dirpath, name)
                info = full.lstat()
                if not stat.S_ISREG(info.st_mode):
                    continue
                found.append(
                    FileInfo(
                        path=full.relative_to(src).as_posix(),
                        size=info.st_size,
                        modified_at=datetime.fromtimestamp(info.st_mtime, UTC),
                    )
                )
        return sorted(found, key=lambda f: f.path)

    def _stage(self, src: Path, overrides: Mapping[str, bytes]) -> Path:
        staging_root = self.root / ".staging"
        staging_root.mkdir(exist_ok=True)
        staged = Path(tempfile.mkdtemp(dir=staging_root))
        if src.is_dir():
            # symlinks=True copies links as links; sources never contain any that
            # the store made, and docker refuses links leaving the context.
            shutil.copytree(src, staged, symlinks=True, dirs_exist_ok=True)
        for name, content in overrides.items():
            target = staged / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return staged

    @staticmethod
    def _resolve(src: Path, path: PurePosixPath) -> Path:
        """``src/path``, refusing any existing part of it that is a symlink."""
        current = src
        for part in path.parts:
            current = current / part
            if current.is_symlink():
                raise InvalidInput(f"{path} passes through a symbolic link", field="path")
        return current

    @classmethod
    def _read(cls, src: Path, path: PurePosixPath) -> bytes:
        full = cls._resolve(src, path)
        if not full.is_file():
            raise NotFound(f"file {path} not found")
        return full.read_bytes()

    @classmethod
    def _write(cls, src: Path, path: PurePosixPath, content: bytes) -> None:
        full = cls._resolve(src, path)
        for parent in reversed(full.relative_to(src).parents):
            folder = src / parent
            if folder.exists() and not folder.is_dir():
                raise InvalidInput(f"{parent} is a file, not a folder", field="path")
        if full.is_dir():
            raise InvalidInput(f"{path} is a folder", field="path")
        full.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target, then rename over it: readers never see half a file.
        fd, tmp = tempfile.mkstemp(dir=full.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(tmp, full)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def _delete(cls, src: Path, path: PurePosixPath) -> None:
        full = cls._resolve(src, path)
        if not full.is_file():
            raise NotFound(f"file {path} not found")
        full.unlink()
        folder = full.parent
        while folder != src and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


class FileLogSink:
    """Appends to a log file. Writes are small and land in the page cache, so they are
    made directly (no thread hop per line); nothing is buffered in the process, so a
    tailer sees each line as soon as it is written."""

    def __init__(self, path: Path, truncate: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("wb" if truncate else "ab", buffering=0)

    def write(self, data: bytes) -> None:
        self._handle.write(data)

    def close(self) -> None:
        self._handle.close()


def _read_range(path: Path, offset: int, limit: int | None) -> bytes:
    try:
        with path.open("rb") as handle:
            # Never more than the file holds: read(n) sets aside n bytes first, so a
            # client's limit of 2**53 was a MemoryError.
            available = os.fstat(handle.fileno()).st_size - offset
            if available <= 0:
                return b""
            handle.seek(offset)
            return handle.read(available if limit is None else min(limit, available))
    except FileNotFoundError:
        return b""


def _materialize(folder: Path, files: Mapping[str, bytes]) -> None:
    if folder.is_dir():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    try:
        for name, content in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        # Readable by the job's user whoever it is; nobody writes here after this.
        for path in [staging, *staging.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        try:
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():  # not a lost race with another worker: a real error
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _create_empty(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    path.chmod(0o666)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _free_bytes(path: Path) -> int:
    """Space available to ordinary users (root's reserve is not counted: a job's log
    writer is not always root). The nearest existing folder answers for a missing file."""
    while not path.exists() and path != path.parent:
        path = path.parent
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _cut(path: Path, limit: int, notice: bytes) -> None:
    with path.open("r+b") as handle:
        handle.truncate(limit)
        handle.seek(limit)
        handle.write(notice)


def _delete_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _list_job_logs(scripts: Path) -> list[Path]:
    """Regular files in ``scripts/*/logs/``. Symlinks are not followed: the caller may
    delete what this returns, and must never reach outside the data directory.
    Folders vanishing meanwhile (a script being deleted) are skipped."""
    found: list[Path] = []
    for owner in _entries(scripts):
        if not owner.is_dir(follow_symlinks=False):
            continue
        for entry in _entries(Path(owner.path) / "logs"):
            if entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path))
    return sorted(found)


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        if folder.is_symlink():
            return []
        with os.scandir(folder) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []
