from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scripter.domain.errors import IllegalTransition, InvalidInput
from scripter.domain.events import ImageBuildRequested, ImageBuilt, ImageDestroyed
from scripter.domain.images import Image, ImageStatus, validate_image_name

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def image(status: ImageStatus = ImageStatus.DORMANT) -> Image:
    return Image(id=7, name="etl", status=status, created_at=T0, updated_at=T0)


def test_build_lifecycle_raises_events_in_order():
    img = image()
    img.request_build(T0)
    img.start_build(T0 + timedelta(seconds=1))
    img.finish_build(T0 + timedelta(seconds=5), docker_image_id="sha256:abc", tag="t:7")
    assert img.status == ImageStatus.BUILT
    assert isinstance(img.events[0], ImageBuildRequested)
    assert isinstance(img.events[-1], ImageBuilt)
    assert img.events[-1].docker_image_id == "sha256:abc"


def test_building_image_cannot_be_built_again_or_destroyed():
    img = image(ImageStatus.BUILDING)
    with pytest.raises(IllegalTransition, match="already building"):
        img.request_build(T0)
    with pytest.raises(IllegalTransition, match="only a built image"):
        img.destroy(T0)


def test_a_second_start_of_the_same_build_is_refused():
    img = image()
    img.request_build(T0)
    img.start_build(T0)
    with pytest.raises(IllegalTransition):
        img.start_build(T0)


def test_failed_build_records_error_and_allows_edits_and_rebuild():
    img = image()
    img.request_build(T0)
    img.fail_build(T0, "pip: no matching distribution")
    assert img.status == ImageStatus.FAILED and img.files_editable
    assert img.error == "pip: no matching distribution"
    img.request_build(T0)
    assert img.status == ImageStatus.BUILDING and img.error is None and not img.files_editable


def test_destroy_returns_built_image_to_dormant():
    img = image(ImageStatus.BUILT)
    img.docker_image_id = "sha256:abc"
    img.destroy(T0)
    assert img.status == ImageStatus.DORMANT and img.docker_image_id is None
    assert isinstance(img.events[-1], ImageDestroyed)


@pytest.mark.parametrize("name", ["etl", "data-2.0", "A_b"])
def test_valid_names(name: str):
    assert validate_image_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", "has space", "a/b", "x" * 101, "ü"])
def test_invalid_names_name_the_field(name: str):
    with pytest.raises(InvalidInput) as caught:
        validate_image_name(name)
    assert caught.value.field == "name"
