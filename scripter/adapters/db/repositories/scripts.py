"""Scripts and their revisions in SQL."""

from __future__ import annotations

# Repositories have a method named ``list``: in their class bodies the builtin
# must be spelled ``builtins.list``.
import builtins
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from scripter.adapters.db.repositories._base import SqlRepository
from scripter.adapters.db.tables import script_revisions, scripts
from scripter.domain.errors import Conflict, NotFound
from scripter.domain.scripts import EnvVar, NetworkMode, ResourceLimits, Script, ScriptRevision


def _values(script: Script) -> dict[str, Any]:
    limits = script.limits
    return {
        "name": script.name,
        "description": script.description,
        "image_id": script.image_id,
        "entry_file": script.entry_file,
        "env": [{"name": v.name, "value": v.value, "secret": v.secret} for v in script.env],
        "args": list(script.args),
        "limits": {"memory_mb": limits.memory_mb, "cpus": limits.cpus, "pids": limits.pids},
        "timeout_seconds": script.timeout_seconds,
        "network_mode": script.network_mode.value,
        "log_limit_bytes": script.log_limit_bytes,
        "read_only_root": script.read_only_root,
        "keep_last": script.keep_last,
        "keep_days": script.keep_days,
        "current_revision": script.current_revision,
        "created_at": script.created_at,
        "updated_at": script.updated_at,
    }


def _script(row: Any) -> Script:
    limits = row["limits"]
    cpus = limits.get("cpus")
    return Script(
        id=row["id"],
        version=row["version"],
        name=row["name"],
        description=row["description"],
        image_id=row["image_id"],
        entry_file=row["entry_file"],
        env=[
            EnvVar(name=v["name"], value=v["value"], secret=bool(v.get("secret", False)))
            for v in row["env"]
        ],
        args=list(row["args"]),
        limits=ResourceLimits(
            memory_mb=limits.get("memory_mb"),
            # JSON does not keep 2.0 apart from 2.
            cpus=None if cpus is None else float(cpus),
            pids=limits.get("pids"),
        ),
        timeout_seconds=row["timeout_seconds"],
        network_mode=NetworkMode(row["network_mode"]),
        log_limit_bytes=row["log_limit_bytes"],
        read_only_root=None if row["read_only_root"] is None else bool(row["read_only_root"]),
        keep_last=row["keep_last"],
        keep_days=row["keep_days"],
        current_revision=row["current_revision"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _revision(row: Any) -> ScriptRevision:
    return ScriptRevision(
        id=row["id"],
        script_id=row["script_id"],
        number=row["number"],
        content_hash=row["content_hash"],
        files=dict(row["files"]),
        settings=dict(row["settings"]),
        created_at=row["created_at"],
    )


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a script named {name!r} already exists", field="name")


def _no_image(image_id: int) -> NotFound:
    return NotFound(f"image {image_id} not found", field="image_id")


class SqlScriptRepository(SqlRepository):
    table = scripts
    noun = "script"

    async def add(self, script: Script) -> Script:
        await self._insert_aggregate(
            script,
            _values(script),
            unique=_name_taken(script.name),
            foreign_key=_no_image(script.image_id),
        )
        return script

    async def get(self, script_id: int) -> Script:
        return self._seen(_script(await self._get_row(script_id)))

    async def get_many(self, script_ids: Iterable[int]) -> dict[int, Script]:
        return {row["id"]: self._seen(_script(row)) for row in await self._get_rows(script_ids)}

    async def list(self) -> builtins.list[Script]:
        return self._all(await self._fetch_all(select(scripts).order_by(scripts.c.id)))

    async def list_by_image(self, image_id: int) -> builtins.list[Script]:
        statement = select(scripts).where(scripts.c.image_id == image_id).order_by(scripts.c.id)
        return self._all(await self._fetch_all(statement))

    async def update(self, script: Script) -> None:
        await self._update_aggregate(
            script,
            _values(script),
            unique=_name_taken(script.name),
            foreign_key=_no_image(script.image_id),
        )

    async def delete(self, script_id: int) -> None:
        # Revisions, jobs and schedules go with it (ON DELETE CASCADE).
        await self._delete(script_id)

    async def add_revision(self, revision: ScriptRevision) -> ScriptRevision:
        values = {
            "script_id": revision.script_id,
            "number": revision.number,
            "content_hash": revision.content_hash,
            "files": dict(revision.files),
            "settings": dict(revision.settings),
            "created_at": revision.created_at,
        }
        taken = Conflict(
            f"script {revision.script_id} already has a revision {revision.number}",
            field="number",
        )
        no_script = NotFound(f"script {revision.script_id} not found", field="script_id")
        revision.id = await self._insert_into(
            script_revisions, values, unique=taken, foreign_key=no_script
        )
        return revision

    async def get_revision(self, script_id: int, number: int) -> ScriptRevision:
        row = await self._fetch_one(
            select(script_revisions).where(
                script_revisions.c.script_id == script_id, script_revisions.c.number == number
            )
        )
        if row is None:
            raise NotFound(f"script {script_id} has no revision {number}")
        return _revision(row)

    async def list_revisions(self, script_id: int) -> builtins.list[ScriptRevision]:
        statement = (
            select(script_revisions)
            .where(script_revisions.c.script_id == script_id)
            .order_by(script_revisions.c.number.desc())
        )
        return [_revision(row) for row in await self._fetch_all(statement)]

    def _all(self, rows: builtins.list[Any]) -> builtins.list[Script]:
        return [self._seen(_script(row)) for row in rows]
