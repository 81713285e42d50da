"""The data directory adapter against the real file system."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from scripter.adapters.files import LocalFileStore
from scripter.domain.errors import InvalidInput, NotFound
from scripter.domain.ports import SourceArea

IMG = SourceArea.IMAGES


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path)


async def test_write_read_list_delete(store: LocalFileStore, tmp_path: Path):
    await store.write_file(IMG, 1, PurePosixPath("Dockerfile"), b"FROM x\n")
    await store.write_file(IMG, 1, PurePosixPath("pkg/data/a.bin"), b"\x00\xff")
    assert (tmp_path / "images/1/src/pkg/data/a.bin").read_bytes() == b"\x00\xff"
    assert await store.read_file(IMG, 1, PurePosixPath("Dockerfile")) == b"FROM x\n"
    assert [(f.path, f.size) for f in await store.list_files(IMG, 1)] == [
        ("Dockerfile", 7),
        ("pkg/data/a.bin", 2),
    ]
    await store.delete_file(IMG, 1, PurePosixPath("pkg/data/a.bin"))
    assert not (tmp_path / "images/1/src/pkg").exists()  # emptied folders go too
    assert [f.path for f in await store.list_files(IMG, 1)] == ["Dockerfile"]


async def test_replace_is_atomic_and_leaves_no_temporary_files(store: LocalFileStore, tmp_path):
    for content in (b"one", b"two"):
        await store.write_file(IMG, 2, PurePosixPath("f.txt"), content)
    assert os.listdir(tmp_path / "images/2/src") == ["f.txt"]
    assert (tmp_path / "images/2/src/f.txt").read_bytes() == b"two"


async def test_missing_files_are_not_found(store: LocalFileStore):
    with pytest.raises(NotFound):
        await store.read_file(IMG, 3, PurePosixPath("nope"))
    with pytest.raises(NotFound):
        await store.delete_file(IMG, 3, PurePosixPath("nope"))
    assert await store.list_files(IMG, 3) == []


async def test_symlinks_are_refused_and_never_listed(store: LocalFileStore, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    src = store.source_dir(IMG, 4)
    src.mkdir(parents=True)
    (src / "link").symlink_to(outside)
    (src / "filelink").symlink_to(outside / "secret")
    with pytest.raises(InvalidInput, match="symbolic link"):
        await store.write_file(IMG, 4, PurePosixPath("link/x"), b"x")
    with pytest.raises(InvalidInput, match="symbolic link"):
        await store.read_file(IMG, 4, PurePosixPath("filelink"))
    with pytest.raises(InvalidInput, match="symbolic link"):
        await store.write_file(IMG, 4, PurePosixPath("filelink"), b"x")
    assert await store.list_files(IMG, 4) == []
    assert (outside / "secret").read_text() == "s"
    assert not (outside / "x").exists()


async def test_a_file_cannot_become_a_folder_or_the_reverse(store: LocalFileStore):
    await store.write_file(IMG, 5, PurePosixPath("a"), b"file")
    await store.write_file(IMG, 5, PurePosixPath("d/b"), b"file")
    with pytest.raises(InvalidInput, match="is a file, not a folder"):
        await store.write_file(IMG, 5, PurePosixPath("a/b"), b"x")
    with pytest.raises(InvalidInput, match="is a folder"):
        await store.write_file(IMG, 5, PurePosixPath("d"), b"x")


async def test_delete_owner_and_ranges(store: LocalFileStore, tmp_path: Path):
    await store.write_file(IMG, 6, PurePosixPath("Dockerfile"), b"x")
    log = store.build_log(6)
    log.write_bytes(b"0123456789")
    assert await store.read_range(log, 3, 4) == b"3456"
    assert await store.read_range(log, 8) == b"89"
    assert await store.read_range(log, 100) == b""
    await store.delete_owner(IMG, 6)
    assert not (tmp_path / "images/6").exists()
    assert await store.read_range(log) == b""
    await store.delete_owner(IMG, 6)  # missing is fine
