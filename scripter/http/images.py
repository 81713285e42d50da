"""/api/images: image definitions, their files, builds and build logs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from scripter.domain.images import Image as ImageEntity
from scripter.domain.images import ImageStatus
from scripter.domain.ports import FileInfo
from scripter.http.openapi import RawBodyOperation
from scripter.http.params import Cursor, Id, LogLimit, LogOffset
from scripter.http.schemas.files import FileEntry, NewFile, decode_file, file_entry, relative_path
from scripter.http.uploads import read_limited
from scripter.services.images import ImageDetail, ImageService


class Image(msgspec.Struct):
    id: int
    name: str
    description: str
    status: ImageStatus
    tag: str | None
    docker_image_id: str | None
    error: str | None
    files_editable: bool
    created_at: datetime
    updated_at: datetime
    build_started_at: datetime | None
    build_finished_at: datetime | None
    files: list[FileEntry] | None = None


class ImagePage(msgspec.Struct):
    items: list[Image]
    next_cursor: int | None


class ImageCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: str = ""
    dockerfile: str | None = None
    """Omit for the default template (a Python base, a venv, pip install -r requirements.txt;
    ``GET /api/images/defaults`` shows it)."""
    requirements: str = ""
    files: list[NewFile] = msgspec.field(default_factory=list)


class ImageDefaults(msgspec.Struct):
    base_image: str
    """The configured base (``images.default_base_image``), the default's FROM."""
    dockerfile: str
    requirements: str


class ImageUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    description: str | None = None


def _image(image: ImageEntity, files: list[FileInfo] | None = None) -> Image:
    return Image(
        id=image.require_id,
        name=image.name,
        description=image.description,
        status=image.status,
        tag=image.tag,
        docker_image_id=image.docker_image_id,
        error=image.error,
        files_editable=image.files_editable,
        created_at=image.created_at,
        updated_at=image.updated_at,
        build_started_at=image.build_started_at,
        build_finished_at=image.build_finished_at,
        files=None if files is None else [file_entry(f) for f in files],
    )


def _detail(detail: ImageDetail) -> Image:
    return _image(detail.image, detail.files)


class ImageController(Controller):
    path = "/api/images"
    tags = ["images"]

    @get("/", summary="List images, newest first")
    async def list_images(
        self,
        images: NamedDependency[ImageService],
        status: FromQuery[ImageStatus | None] = None,
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> ImagePage:
        page, next_cursor = await images.list(status=status, before_id=cursor, limit=limit)
        return ImagePage(items=[_image(i) for i in page], next_cursor=next_cursor)

    @get(
        "/defaults",
        summary="The Dockerfile and requirements.txt a new image gets when it names none",
    )
    async def image_defaults(self, images: NamedDependency[ImageService]) -> ImageDefaults:
        defaults = images.defaults()
        return ImageDefaults(
            base_image=defaults.base_image,
            dockerfile=defaults.dockerfile,
            requirements=defaults.requirements,
        )

    @post("/", summary="Define an image (status dormant)")
    async def create_image(
        self, images: NamedDependency[ImageService], data: JSONBody[ImageCreate]
    ) -> Image:
        detail = await images.create(
            name=data.name,
            description=data.description,
            dockerfile=data.dockerfile,
            requirements=data.requirements,
            files=[(f.path, decode_file(f)) for f in data.files],
        )
        return _detail(detail)

    @get("/{image_id:int}", summary="An image with its file list")
    async def get_image(self, images: NamedDependency[ImageService], image_id: Id) -> Image:
        return _detail(await images.get(image_id))

    @patch("/{image_id:int}", summary="Rename or describe an image (allowed in any status)")
    async def update_image(
        self,
        images: NamedDependency[ImageService],
        image_id: Id,
        data: JSONBody[ImageUpdate],
    ) -> Image:
        await images.update(image_id, name=data.name, description=data.description)
        return _detail(await images.get(image_id))

    @delete("/{image_id:int}", summary="Delete the definition, its files and its Docker image")
    async def delete_image(self, images: NamedDependency[ImageService], image_id: Id) -> None:
        await images.delete(image_id)

    @post("/{image_id:int}/build", status_code=HTTP_202_ACCEPTED, summary="Start a build")
    async def build_image(self, images: NamedDependency[ImageService], image_id: Id) -> Image:
        return _image(await images.request_build(image_id))

    @post("/{image_id:int}/destroy", summary="Remove the Docker image, keep the definition")
    async def destroy_image(self, images: NamedDependency[ImageService], image_id: Id) -> Image:
        return _image(await images.destroy(image_id))

    @get(
        "/{image_id:int}/build-log",
        media_type="text/plain; charset=utf-8",
        summary="The build log, whole or from a byte offset",
    )
    async def build_log(
        self,
        images: NamedDependency[ImageService],
        image_id: Id,
        offset: LogOffset = 0,
        limit: LogLimit = None,
    ) -> Response[bytes]:
        content, size = await images.read_build_log(image_id, offset, limit)
        headers = {"X-Next-Offset": str(offset + len(content)), "X-Log-Size": str(size)}
        return Response(content, headers=headers)

    @get("/{image_id:int}/files", summary="The image's files (path, size, modified_at)")
    async def list_files(
        self, images: NamedDependency[ImageService], image_id: Id
    ) -> list[FileEntry]:
        return [file_entry(f) for f in await images.list_files(image_id)]

    @get(
        "/{image_id:int}/files/{path:path}",
        media_type="application/octet-stream",
        summary="Read one file",
    )
    async def read_file(
        self,
        images: NamedDependency[ImageService],
        image_id: Id,
        path: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> bytes:
        return await images.read_file(image_id, relative_path(path, request))

    @put(
        "/{image_id:int}/files/{path:path}",
        summary="Create or replace one file (raw body)",
        operation_class=RawBodyOperation,
    )
    async def write_file(
        self,
        images: NamedDependency[ImageService],
        image_id: Id,
        path: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> FileEntry:
        content = await read_limited(request, images.max_file_bytes)
        return file_entry(await images.write_file(image_id, relative_path(path, request), content))

    @delete(
        "/{image_id:int}/files/{path:path}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete one file (not the Dockerfile)",
    )
    async def delete_file(
        self,
        images: NamedDependency[ImageService],
        image_id: Id,
        path: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> None:
        await images.delete_file(image_id, relative_path(path, request))
