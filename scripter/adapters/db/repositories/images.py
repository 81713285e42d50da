"""Images in SQL."""

from __future__ import annotations

# Repositories have a method named ``list``: in their class bodies the builtin
# must be spelled ``builtins.list``.
import builtins
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from scripter.adapters.db.repositories._base import SqlRepository
from scripter.adapters.db.tables import images
from scripter.domain.errors import Conflict
from scripter.domain.images import Image, ImageStatus


def _values(image: Image) -> dict[str, Any]:
    return {
        "name": image.name,
        "description": image.description,
        "status": image.status.value,
        "tag": image.tag,
        "docker_image_id": image.docker_image_id,
        "error": image.error,
        "created_at": image.created_at,
        "updated_at": image.updated_at,
        "build_started_at": image.build_started_at,
        "build_finished_at": image.build_finished_at,
    }


def _image(row: Any) -> Image:
    return Image(
        id=row["id"],
        version=row["version"],
        name=row["name"],
        description=row["description"],
        status=ImageStatus(row["status"]),
        tag=row["tag"],
        docker_image_id=row["docker_image_id"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        build_started_at=row["build_started_at"],
        build_finished_at=row["build_finished_at"],
    )


def _name_taken(name: str) -> Conflict:
    return Conflict(f"an image named {name!r} already exists", field="name")


class SqlImageRepository(SqlRepository):
    table = images
    noun = "image"

    async def add(self, image: Image) -> Image:
        await self._insert_aggregate(image, _values(image), unique=_name_taken(image.name))
        return image

    async def get(self, image_id: int) -> Image:
        return self._seen(_image(await self._get_row(image_id)))

    async def get_many(self, image_ids: Iterable[int]) -> dict[int, Image]:
        return {row["id"]: self._seen(_image(row)) for row in await self._get_rows(image_ids)}

    async def get_by_name(self, name: str) -> Image | None:
        row = await self._fetch_one(select(images).where(images.c.name == name))
        return None if row is None else self._seen(_image(row))

    async def list(self) -> builtins.list[Image]:
        return self._all(await self._fetch_all(select(images).order_by(images.c.id)))

    async def list_by_status(self, status: str) -> builtins.list[Image]:
        statement = select(images).where(images.c.status == str(status)).order_by(images.c.id)
        return self._all(await self._fetch_all(statement))

    async def update(self, image: Image) -> None:
        await self._update_aggregate(image, _values(image), unique=_name_taken(image.name))

    async def delete(self, image_id: int) -> None:
        # Services refuse first; the foreign key is the last line of defence.
        in_use = Conflict(f"image {image_id} is used by at least one script")
        await self._delete(image_id, foreign_key=in_use)

    def _all(self, rows: builtins.list[Any]) -> builtins.list[Image]:
        return [self._seen(_image(row)) for row in rows]
