"""Script use cases: define, edit, delete; files, revisions and restore.

Every save that changes files or run settings adds a revision in the same unit of
work (``Script.revise``). Files on disk follow the database: they are written after
the changes are flushed and before the commit, and put back if the commit fails.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from scripter.domain.clock import Clock
from scripter.domain.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from scripter.domain.events import ScriptDeleted
from scripter.domain.paths import validate_relative_path
from scripter.domain.ports import FileInfo, FileStore, SourceArea, UnitOfWork, UnitOfWorkFactory
from scripter.domain.scripts import (
    DEFAULT_ENTRY_FILE,
    HELLO_WORLD,
    NetworkMode,
    ResourceLimits,
    Script,
    ScriptRevision,
    validate_script,
)
from scripter.services.paging import newest_first_page
from scripter.services.script_changes import (
    DEFAULT_LIMITS,
    EnvInput,
    LimitsPatch,
    ScriptPatch,
    apply_patch,
    parse_network_mode,
    resolve_env,
    script_fields,
)
from scripter.services.source_files import replace_all, restoring

SCRIPTS = SourceArea.SCRIPTS


@dataclass(kw_only=True, frozen=True)
class ScriptServiceSettings:
    max_file_bytes: int = 5 * 1024 * 1024
    default_network: NetworkMode = NetworkMode.NONE
    """The network mode of a new script that names none (config ``docker.job_network``)."""


@dataclass(kw_only=True, frozen=True)
class ScriptDetail:
    script: Script
    files: list[FileInfo]


class ScriptService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        files: FileStore,
        clock: Clock,
        settings: ScriptServiceSettings,
    ) -> None:
        self._uow = uow
        self._files = files
        self._clock = clock
        self._settings = settings

    # --- reading ------------------------------------------------------------------

    async def get(self, script_id: int) -> ScriptDetail:
        async with self._uow() as uow:
            script = await uow.scripts.get(script_id)
        return ScriptDetail(script=script, files=await self._files.list_files(SCRIPTS, script_id))

    async def list(
        self, *, image_id: int | None = None, before_id: int | None = None, limit: int = 50
    ) -> tuple[list[Script], int | None]:
        """Newest first; returns the page and the cursor of the next one (None at the end)."""
        async with self._uow() as uow:
            scripts = await (
                uow.scripts.list_by_image(image_id) if image_id is not None else uow.scripts.list()
            )
        return newest_first_page(scripts, before_id=before_id, limit=limit)

    @property
    def max_file_bytes(self) -> int:
        return self._settings.max_file_bytes

    async def read_file(self, script_id: int, path: str) -> bytes:
        async with self._uow() as uow:
            await uow.scripts.get(script_id)
        return await self._files.read_file(SCRIPTS, script_id, validate_relative_path(path))

    async def list_revisions(self, script_id: int) -> builtins.list[ScriptRevision]:
        """Newest first."""
        async with self._uow() as uow:
            await uow.scripts.get(script_id)
            return await uow.scripts.list_revisions(script_id)

    async def get_revision(self, script_id: int, number: int) -> ScriptRevision:
        """The revision (its files as bytes: ``file_contents()``; its settings, secret
        values included: ``revision_settings()``), or ``NotFound``."""
        async with self._uow() as uow:
            await uow.scripts.get(script_id)
            return await uow.scripts.get_revision(script_id, number)

    # --- defining and editing -------------------------------------------------------

    async def create(
        self,
        *,
        name: str,
        image_id: int,
        description: str = "",
        entry_file: str = DEFAULT_ENTRY_FILE,
        files: Mapping[str, bytes] | Sequence[tuple[str, bytes]] | None = None,
        env: Sequence[EnvInput] = (),
        args: Sequence[str] = (),
        limits: LimitsPatch = DEFAULT_LIMITS,
        timeout_seconds: int | None = 3600,
        network_mode: NetworkMode | None = None,
        log_limit_bytes: int | None = None,
        read_only_root: bool | None = None,
        keep_last: int | None = None,
        keep_days: int | None = None,
    ) -> ScriptDetail:
        """A new script with revision 1. ``files`` maps paths to contents (or lists
        (path, content) pairs, so that a path given twice is refused); without any,
        the script gets a hello-world ``main.py``. ``limits`` changes the defaults."""
        now = self._clock.now()
        script = Script(
            name=name,
            description=description,
            image_id=image_id,
            entry_file=entry_file,
            env=resolve_env(env, stored=()),
            args=list(args),
            limits=limits.applied_to(ResourceLimits()),
            timeout_seconds=timeout_seconds,
            network_mode=parse_network_mode(network_mode or self._settings.default_network),
            log_limit_bytes=log_limit_bytes,
            read_only_root=read_only_root,
            keep_last=keep_last,
            keep_days=keep_days,
            created_at=now,
            updated_at=now,
        )
        validate_script(script)
        sources = self._sources(files) if files else {DEFAULT_ENTRY_FILE: HELLO_WORLD.encode()}
        _check_entry_file(script.entry_file, sources)
        async with self._uow() as uow:
            await _require_image(uow, image_id)
            await uow.scripts.add(script)
            revision = script.revise(None, now, sources)
            assert revision is not None
            await uow.scripts.update(script)
            await uow.scripts.add_revision(revision)
            # Files after the rows, commit last: if writing fails nothing is committed,
            # and if the commit fails the folder is removed again.
            try:
                for path, content in sources.items():
                    await self._files.write_file(
                        SCRIPTS, script.require_id, PurePosixPath(path), content
                    )
                await uow.commit()
            except BaseException:
                await self._files.delete_owner(SCRIPTS, script.require_id)
                raise
        return await self.get(script.require_id)

    async def update(self, script_id: int, patch: ScriptPatch) -> ScriptDetail:
        """Change settings; a new revision if a run setting changed. Changing nothing
        commits nothing."""
        async with self._uow() as uow:
            script = await uow.scripts.get(script_id)
            current = await uow.scripts.get_revision(script_id, script.current_revision)
            before = copy.deepcopy(script)
            apply_patch(script, patch)
            validate_script(script)
            if script.image_id != before.image_id:
                await _require_image(uow, script.image_id)
            if script.entry_file != before.entry_file:
                _check_entry_file(script.entry_file, current.files)
            if script_fields(script) != script_fields(before):
                script.updated_at = self._clock.now()
                revision = script.revise(current, script.updated_at, None)
                await uow.scripts.update(script)
                if revision is not None:
                    await uow.scripts.add_revision(revision)
                await uow.commit()
        return await self.get(script_id)

    async def write_file(self, script_id: int, path: str, content: bytes) -> FileInfo:
        """Create or replace one file (a new revision unless the content is the same)."""
        relative = validate_relative_path(path)
        self._check_size(content, field="content")
        async with self._uow() as uow:
            script = await uow.scripts.get(script_id)
            current = await uow.scripts.get_revision(script_id, script.current_revision)
            files = current.file_contents()
            if files.get(str(relative)) != content:
                files[str(relative)] = content
                # The script's row first: its version check (and the row lock it takes)
                # orders this edit against any other save of the script.
                saved_at = await self._save(uow, script, current, files)
                async with restoring(self._files, SCRIPTS, script_id, [relative]):
                    await self._files.write_file(SCRIPTS, script_id, relative, content)
                    await uow.commit()
                return FileInfo(path=str(relative), size=len(content), modified_at=saved_at)
        # The same content again: nothing to save.
        for info in await self._files.list_files(SCRIPTS, script_id):
            if info.path == str(relative):
                return info
        return FileInfo(path=str(relative), size=len(content), modified_at=script.updated_at)

    async def delete_file(self, script_id: int, path: str) -> None:
        """Remove one file (a new revision); the entry file cannot be deleted."""
        relative = validate_relative_path(path)
        async with self._uow() as uow:
            script = await uow.scripts.get(script_id)
            if str(relative) == script.entry_file:
                raise InvalidInput(
                    f"{relative} is the entry file and cannot be deleted; "
                    "choose another entry file first",
                    field="path",
                )
            current = await uow.scripts.get_revision(script_id, script.current_revision)
            files = current.file_contents()
            if files.pop(str(relative), None) is None:
                raise NotFound(f"file {relative} not found")
            await self._save(uow, script, current, files)
            async with restoring(self._files, SCRIPTS, script_id, [relative]):
                await self._files.delete_file(SCRIPTS, script_id, relative)
                await uow.commit()

    async def restore(self, script_id: int, number: int) -> ScriptDetail:
        """Make revision ``number``'s files and run settings current again, as a new
        revision (name, description and retention stay as they are). Restoring what
        is already current changes nothing."""
        async with self._uow() as uow:
            script = await uow.scripts.get(script_id)
            current = await uow.scripts.get_revision(script_id, script.current_revision)
            target = await uow.scripts.get_revision(script_id, number)
            settings = target.revision_settings()
            if settings.image_id != script.image_id:
                try:
                    await uow.images.get(settings.image_id)
                except NotFound:
                    raise Conflict(
                        f"revision {number} runs on image {settings.image_id}, which no "
                        "longer exists",
                        field="image_id",
                    ) from None
            script.apply(settings)
            files = target.file_contents()
            now = self._clock.now()
            revision = script.revise(current, now, files)
            if revision is not None:
                await uow.scripts.update(script)
                await uow.scripts.add_revision(revision)
                on_disk = await self._files.list_files(SCRIPTS, script_id)
                paths = sorted({PurePosixPath(p) for p in [*files, *(f.path for f in on_disk)]})
                async with restoring(self._files, SCRIPTS, script_id, paths) as before:
                    await replace_all(self._files, SCRIPTS, script_id, before, files)
                    await uow.commit()
        return await self.get(script_id)

    async def delete(self, script_id: int) -> None:
        """Remove the script with its revisions, jobs, schedules, files and logs;
        refused while one of its jobs is queued or running."""
        async with self._uow() as uow:
            script = await uow.scripts.get(script_id)
            if await uow.jobs.has_unfinished(script_id):
                raise Conflict(
                    f"script {script.name!r} has a queued or running job; "
                    "cancel it or wait for it to end"
                )
            await uow.scripts.delete(script_id)
            uow.emit(ScriptDeleted(script_id=script_id, name=script.name))
            await uow.commit()
        await self._files.delete_owner(SCRIPTS, script_id)

    # --- helpers ----------------------------------------------------------------------

    async def _save(
        self, uow: UnitOfWork, script: Script, current: ScriptRevision, files: Mapping[str, bytes]
    ) -> datetime:
        """Save the script with a revision for ``files`` (its whole new file set);
        returns the time of the save."""
        now = self._clock.now()
        revision = script.revise(current, now, files)
        script.updated_at = now
        await uow.scripts.update(script)
        if revision is not None:
            await uow.scripts.add_revision(revision)
        return now

    def _sources(
        self, files: Mapping[str, bytes] | Sequence[tuple[str, bytes]]
    ) -> dict[str, bytes]:
        sources: dict[str, bytes] = {}
        for raw_path, content in files.items() if isinstance(files, Mapping) else files:
            field = f"files.{raw_path}"
            path = str(validate_relative_path(raw_path, field=field))
            if path in sources:
                raise InvalidInput(f"{path} is given twice", field=field)
            self._check_size(content, field=field)
            sources[path] = content
        return sources

    def _check_size(self, content: bytes, *, field: str) -> None:
        limit = self._settings.max_file_bytes
        if len(content) > limit:
            raise PayloadTooLarge(
                f"the file is {len(content)} bytes; the limit is {limit} bytes", field=field
            )


def _check_entry_file(entry_file: str, paths: Mapping[str, object]) -> None:
    if entry_file not in paths:
        raise InvalidInput(
            f"the entry file {entry_file} is not one of the script's files", field="entry_file"
        )


async def _require_image(uow: UnitOfWork, image_id: int) -> None:
    try:
        await uow.images.get(image_id)
    except NotFound:
        raise InvalidInput(f"image {image_id} does not exist", field="image_id") from None
