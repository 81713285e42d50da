"""Image definitions and their lifecycle: dormant -> building -> built | failed."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from scripter.domain.errors import IllegalTransition
from scripter.domain.events import (
    ImageBuildFailed,
    ImageBuildRequested,
    ImageBuildStarted,
    ImageBuilt,
    ImageDestroyed,
)
from scripter.domain.model import Aggregate
from scripter.domain.names import validate_name


class ImageStatus(enum.StrEnum):
    """Where an image is in its lifecycle."""

    DORMANT = "dormant"
    """Defined but no Docker image exists; files are editable."""
    BUILDING = "building"
    """A worker is building it; nothing may change the files."""
    BUILT = "built"
    """The Docker image exists; scripts can run on it."""
    FAILED = "failed"
    """The last build failed; files are editable, the error is recorded."""


def validate_image_name(name: str) -> str:
    """The rule every name follows (``scripter.domain.names.validate_name``)."""
    return validate_name(name)


_SEPARATOR_RUN = re.compile(r"[._-]+")
_DOCKER_SEPARATORS = (".", "_", "__")


def docker_name_component(name: str) -> str:
    """The image name as a path component of a Docker repository name.

    Docker's reference grammar allows lower-case letters and digits joined by single
    separators: ``.``, ``_``, ``__`` or a run of ``-``
    (``[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*``). A valid image name may hold other
    runs (``a..b``, ``a._b``, ``a___b``) or end in separators (``etl-``): such a run
    becomes its first character and trailing separators go. A name Docker already
    accepts stays as it is (lower-cased), so its tag does not change.
    """

    def one_separator(run: re.Match[str]) -> str:
        text = run.group()
        return text if text in _DOCKER_SEPARATORS or set(text) == {"-"} else text[0]

    return _SEPARATOR_RUN.sub(one_separator, name.lower().strip("._-"))


@dataclass(kw_only=True, eq=False)
class Image(Aggregate):
    name: str
    description: str = ""
    status: ImageStatus = ImageStatus.DORMANT
    tag: str | None = None
    docker_image_id: str | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    build_started_at: datetime | None = None
    build_finished_at: datetime | None = None

    @property
    def files_editable(self) -> bool:
        return self.status in (ImageStatus.DORMANT, ImageStatus.FAILED)

    def docker_tag(self, prefix: str = "scripter") -> str:
        """The tag a build gives the Docker image, derived from the name and id. The id
        keeps it unique: two names may give the same ``docker_name_component``."""
        return f"{prefix}/{docker_name_component(self.name)}:{self.require_id}"

    def request_build(self, now: datetime) -> None:
        if self.status == ImageStatus.BUILDING:
            raise IllegalTransition(f"image {self.name!r} is already building")
        self.status = ImageStatus.BUILDING
        self.error = None
        self.build_started_at = None
        self.build_finished_at = None
        self.updated_at = now
        self.raise_event(ImageBuildRequested(image_id=self.require_id))

    def start_build(self, now: datetime) -> None:
        if self.status != ImageStatus.BUILDING or self.build_started_at is not None:
            raise IllegalTransition(f"image {self.name!r} has no build waiting to start")
        self.build_started_at = now
        self.updated_at = now
        self.raise_event(ImageBuildStarted(image_id=self.require_id))

    def finish_build(self, now: datetime, *, docker_image_id: str, tag: str) -> None:
        self._require_building()
        self.status = ImageStatus.BUILT
        self.docker_image_id = docker_image_id
        self.tag = tag
        self.build_finished_at = now
        self.updated_at = now
        self.raise_event(
            ImageBuilt(image_id=self.require_id, docker_image_id=docker_image_id, tag=tag)
        )

    def fail_build(self, now: datetime, error: str) -> None:
        self._require_building()
        self.status = ImageStatus.FAILED
        self.error = error
        self.build_finished_at = now
        self.updated_at = now
        self.raise_event(ImageBuildFailed(image_id=self.require_id, error=error))

    def destroy(self, now: datetime) -> None:
        if self.status != ImageStatus.BUILT:
            raise IllegalTransition(
                f"image {self.name!r} is {self.status}; only a built image can be destroyed"
            )
        self.status = ImageStatus.DORMANT
        # Both named the Docker image just removed; a kept tag would name nothing.
        self.docker_image_id = None
        self.tag = None
        self.updated_at = now
        self.raise_event(ImageDestroyed(image_id=self.require_id))

    def _require_building(self) -> None:
        if self.status != ImageStatus.BUILDING:
            raise IllegalTransition(f"image {self.name!r} is {self.status}, not building")


DOCKERFILE = "Dockerfile"
REQUIREMENTS = "requirements.txt"

DEFAULT_DOCKERFILE = """\
FROM {base_image}

# A virtual environment keeps pip away from the system's Python (PEP 668).
ENV VIRTUAL_ENV=/opt/venv \\
    PATH=/opt/venv/bin:$PATH \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv

COPY requirements.txt /opt/requirements.txt
RUN pip install --no-cache-dir -r /opt/requirements.txt
"""


def default_dockerfile(base_image: str) -> str:
    """The template offered when a new image names no Dockerfile."""
    return DEFAULT_DOCKERFILE.format(base_image=base_image)


EXTRA_CA_FILE = ".scripter-extra-ca.pem"
EXTRA_CA_TARGET = "/etc/scripter/extra-ca.pem"
_FROM_LINE = re.compile(r"^\s*FROM\s", re.IGNORECASE)


def with_extra_ca_certificates(dockerfile: str) -> str:
    """The Dockerfile with the extra CA bundle installed after every ``FROM``.

    Behind a TLS-intercepting proxy pip, requests and OpenSSL must trust the proxy's
    CA. The bundle is copied from the build context (``EXTRA_CA_FILE``) and named by
    the variables each of them reads. The user's file is never changed: this text
    is written into a staged copy of the build context.
    """
    lines: list[str] = []
    for line in dockerfile.splitlines():
        lines.append(line)
        if _FROM_LINE.match(line):
            lines.append(f"COPY {EXTRA_CA_FILE} {EXTRA_CA_TARGET}")
            lines.append(
                f"ENV PIP_CERT={EXTRA_CA_TARGET} REQUESTS_CA_BUNDLE={EXTRA_CA_TARGET} "
                f"SSL_CERT_FILE={EXTRA_CA_TARGET}"
            )
    return "\n".join(lines) + "\n"
