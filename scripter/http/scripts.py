"""/api/scripts: scripts, their files and their revisions.

The bodies and their conversions are in ``scripter.http.schemas.scripts``; no
response carries a secret's value.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from scripter.http.openapi import RawBodyOperation
from scripter.http.params import MAX_ID, Cursor, Id, Number
from scripter.http.schemas.files import FileEntry, decode_file, file_entry, relative_path
from scripter.http.schemas.scripts import (
    Revision,
    RevisionSummary,
    Script,
    ScriptCreate,
    ScriptPage,
    ScriptUpdate,
    detail_out,
    env_in,
    limits_in,
    patch_in,
    revision_out,
    revision_summary,
    script_out,
)
from scripter.http.uploads import read_limited
from scripter.services.scripts import ScriptService


class ScriptController(Controller):
    path = "/api/scripts"
    tags = ["scripts"]

    @get("/", summary="List scripts, newest first")
    async def list_scripts(
        self,
        scripts: NamedDependency[ScriptService],
        image_id: Annotated[
            int | None,
            QueryParameter(ge=1, le=MAX_ID, description="only the scripts that run on this image"),
        ] = None,
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> ScriptPage:
        page, next_cursor = await scripts.list(image_id=image_id, before_id=cursor, limit=limit)
        return ScriptPage(items=[script_out(s) for s in page], next_cursor=next_cursor)

    @post("/", summary="Define a script (its revision 1)")
    async def create_script(
        self, scripts: NamedDependency[ScriptService], data: JSONBody[ScriptCreate]
    ) -> Script:
        detail = await scripts.create(
            name=data.name,
            image_id=data.image_id,
            description=data.description,
            entry_file=data.entry_file,
            files=[(f.path, decode_file(f)) for f in data.files],
            env=env_in(data.env),
            args=data.args,
            limits=limits_in(data.limits),
            timeout_seconds=data.timeout_seconds,
            network_mode=data.network_mode,
            log_limit_bytes=data.log_limit_bytes,
            read_only_root=data.read_only_root,
            keep_last=data.keep_last,
            keep_days=data.keep_days,
        )
        return detail_out(detail)

    @get("/{script_id:int}", summary="A script with its file list and current revision")
    async def get_script(self, scripts: NamedDependency[ScriptService], script_id: Id) -> Script:
        return detail_out(await scripts.get(script_id))

    @patch(
        "/{script_id:int}",
        summary="Change settings (a new revision if a run setting changes)",
        description="Only the fields given change. `env` replaces the whole list; a "
        'secret given as `{"name": X, "secret": true}` without a value keeps its value.',
    )
    async def update_script(
        self,
        scripts: NamedDependency[ScriptService],
        script_id: Id,
        data: JSONBody[ScriptUpdate],
    ) -> Script:
        return detail_out(await scripts.update(script_id, patch_in(data)))

    @delete(
        "/{script_id:int}",
        summary="Delete the script with its revisions, jobs, schedules, files and logs",
    )
    async def delete_script(self, scripts: NamedDependency[ScriptService], script_id: Id) -> None:
        await scripts.delete(script_id)

    # --- files ----------------------------------------------------------------------

    @get("/{script_id:int}/files", summary="The script's files (path, size, modified_at)")
    async def list_files(
        self, scripts: NamedDependency[ScriptService], script_id: Id
    ) -> list[FileEntry]:
        return [file_entry(f) for f in (await scripts.get(script_id)).files]

    @get(
        "/{script_id:int}/files/{path:path}",
        media_type="application/octet-stream",
        summary="Read one file",
    )
    async def read_file(
        self,
        scripts: NamedDependency[ScriptService],
        script_id: Id,
        path: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> bytes:
        return await scripts.read_file(script_id, relative_path(path, request))

    @put(
        "/{script_id:int}/files/{path:path}",
        summary="Create or replace one file (raw body; a new revision)",
        operation_class=RawBodyOperation,
    )
    async def write_file(
        self,
        scripts: NamedDependency[ScriptService],
        script_id: Id,
        path: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> FileEntry:
        content = await read_limited(request, scripts.max_file_bytes)
        return file_entry(
            await scripts.write_file(script_id, relative_path(path, request), content)
        )

    @delete(
        "/{script_id:int}/files/{path:path}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete one file (not the entry file; a new revision)",
    )
    async def delete_file(
        self,
        scripts: NamedDependency[ScriptService],
        script_id: Id,
        path: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> None:
        await scripts.delete_file(script_id, relative_path(path, request))

    # --- revisions --------------------------------------------------------------------

    @get("/{script_id:int}/revisions", summary="The script's revisions, newest first")
    async def list_revisions(
        self, scripts: NamedDependency[ScriptService], script_id: Id
    ) -> list[RevisionSummary]:
        return [revision_summary(r) for r in await scripts.list_revisions(script_id)]

    @get(
        "/{script_id:int}/revisions/{number:int}",
        summary="One revision: its files and settings (secret values masked)",
    )
    async def get_revision(
        self,
        scripts: NamedDependency[ScriptService],
        script_id: Id,
        number: Number,
    ) -> Revision:
        return revision_out(await scripts.get_revision(script_id, number))

    @post(
        "/{script_id:int}/revisions/{number:int}/restore",
        status_code=200,
        summary="Make a revision's files and settings current again (as a new revision)",
    )
    async def restore_revision(
        self,
        scripts: NamedDependency[ScriptService],
        script_id: Id,
        number: Number,
    ) -> Script:
        return detail_out(await scripts.restore(script_id, number))
