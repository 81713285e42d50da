"""The token file on a real file system: made once, owner-only, rotated whole, and
noticed by every process that shares it."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from scripter.adapters.access_token import TokenFile, token_path
from scripter.domain.ports import TokenUnavailable


def test_ensure_makes_an_owner_only_token_once(tmp_path: Path) -> None:
    store = TokenFile(token_path(tmp_path))
    token, made = store.ensure()
    assert made and len(token) >= 40
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert store.path.read_text() == token + "\n"
    assert TokenFile(store.path).ensure() == (token, False)
    assert [p.name for p in tmp_path.iterdir()] == ["auth-token"]  # nothing left aside


def _ensure(directory: str) -> tuple[str, bool]:
    return TokenFile(token_path(Path(directory))).ensure()


def test_processes_starting_together_agree_on_one_token(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        results = pool.map(_ensure, [str(tmp_path)] * 12)
    assert sum(made for _, made in results) == 1
    assert len({token for token, _ in results}) == 1


def test_a_rotation_elsewhere_is_noticed(tmp_path: Path) -> None:
    reader = TokenFile(token_path(tmp_path))
    first, _ = reader.ensure()
    assert reader.current() == first
    second = TokenFile(token_path(tmp_path)).rotate()  # another process
    assert second != first
    assert reader.current() == second
    assert token_path(tmp_path).stat().st_mode & 0o777 == 0o600
    # Rewritten in place by hand (same inode): noticed too, by size or time.
    token_path(tmp_path).write_text("handwritten-token-of-another-length\n")
    assert reader.current() == "handwritten-token-of-another-length"


def test_missing_or_empty_token_is_unavailable(tmp_path: Path) -> None:
    store = TokenFile(token_path(tmp_path))
    with pytest.raises(TokenUnavailable):
        store.current()
    store.path.write_text("  \n")
    with pytest.raises(TokenUnavailable):
        store.current()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can hand a file to another user")
def test_rotation_by_root_keeps_the_owner(tmp_path: Path) -> None:
    # `docker compose exec api scripter token rotate` runs as root; the api runs as
    # the user `scripter`, which must still read the new file.
    store = TokenFile(token_path(tmp_path))
    store.ensure()
    os.chown(store.path, 10001, 10001)
    store.rotate()
    stat = store.path.stat()
    assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (10001, 10001, 0o600)


def test_an_existing_token_readable_by_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = token_path(tmp_path)
    path.write_text("t" * 43 + "\n")
    path.chmod(0o644)
    assert TokenFile(path).ensure() == ("t" * 43, False)
    assert "chmod 600" in caplog.text
