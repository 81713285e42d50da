from __future__ import annotations

import contextlib
import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from scripter.domain.errors import IllegalTransition, InvalidInput
from scripter.domain.events import ImageBuildRequested, ImageBuilt, ImageDestroyed
from scripter.domain.images import (
    Image,
    ImageStatus,
    docker_name_component,
    validate_image_name,
)

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
    img.tag = "scripter/etl:7"
    img.destroy(T0)
    assert img.status == ImageStatus.DORMANT and img.docker_image_id is None
    # The tag named the Docker image destroy removed: kept, it would name nothing.
    assert img.tag is None
    assert isinstance(img.events[-1], ImageDestroyed)


@pytest.mark.parametrize("name", ["etl", "data-2.0", "A_b"])
def test_valid_names(name: str):
    assert validate_image_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", "has space", "a/b", "x" * 101, "ü"])
def test_invalid_names_name_the_field(name: str):
    with pytest.raises(InvalidInput) as caught:
        validate_image_name(name)
    assert caught.value.field == "name"


# --- the Docker tag -------------------------------------------------------------------

# Docker's reference grammar (distribution/reference): a repository name is path
# components joined by "/", at most 255 characters; the tag follows ":".
DOCKER_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*")
DOCKER_TAG = re.compile(r"[\w][\w.-]{0,127}")


def assert_docker_reference(reference: str) -> None:
    repository, _, tag = reference.rpartition(":")
    assert len(repository) <= 255, reference
    for component in repository.split("/"):
        assert DOCKER_PATH_COMPONENT.fullmatch(component), (reference, component)
    assert DOCKER_TAG.fullmatch(tag), reference


def short_valid_names() -> list[str]:
    """Every valid name of up to 5 characters over a letter of each case and the three
    separators: each run of separators of up to 4, at each place."""
    names = []
    for length in range(1, 6):
        for chars in itertools.product("aZ._-", repeat=length):
            with contextlib.suppress(InvalidInput):
                names.append(validate_image_name("".join(chars)))
    return names


@pytest.mark.parametrize(
    ("name", "component"),
    [
        ("etl", "etl"),
        ("ETL", "etl"),
        ("data-2.0", "data-2.0"),
        ("a__b", "a__b"),
        ("a---b", "a---b"),
        ("etl-", "etl"),
        ("etl.", "etl"),
        ("etl_", "etl"),
        ("a..b", "a.b"),
        ("a._b", "a.b"),
        ("a___b", "a_b"),
        ("a-_b", "a-b"),
        ("a_-b", "a_b"),
        ("A.-_.B--", "a.b"),
    ],
)
def test_the_docker_name_component_collapses_runs_docker_refuses(name: str, component: str):
    assert docker_name_component(name) == component


def test_every_short_valid_name_gives_a_valid_docker_reference():
    names = short_valid_names()
    assert {"a-", "a.", "a..Z", "a._Z", "a___Z", "a.-_."} <= set(names)
    for n, name in enumerate(names, start=1):
        tagged = Image(id=n, name=name, created_at=T0, updated_at=T0)
        assert_docker_reference(tagged.docker_tag())
        assert_docker_reference(tagged.docker_tag("scripter-test-1a2b/nested.prefix"))


@pytest.mark.parametrize(
    "name", ["a" + "._-" * 33, "Z" * 100, "a" + "-" * 99, "a" + "_." * 49 + "b", "9" + "_" * 99]
)
def test_long_valid_names_give_a_valid_docker_reference(name: str):
    tagged = Image(id=2**31 - 1, name=validate_image_name(name), created_at=T0, updated_at=T0)
    assert_docker_reference(tagged.docker_tag())


def test_names_that_give_the_same_component_keep_distinct_tags_by_their_id():
    first = Image(id=1, name="a..b", created_at=T0, updated_at=T0)
    second = Image(id=2, name="a.b", created_at=T0, updated_at=T0)
    assert first.docker_tag() == "scripter/a.b:1"
    assert second.docker_tag() == "scripter/a.b:2"
