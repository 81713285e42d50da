"""Names and descriptions users give images and scripts."""

from __future__ import annotations

import re

from scripter.domain.errors import InvalidInput

MAX_DESCRIPTION = 2000

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def validate_name(name: str, *, field: str = "name") -> str:
    """A name of an image or script: 1-100 letters, digits, ``-``, ``_`` or ``.``,
    starting with a letter or digit. (Uniqueness, regardless of case, is the
    repository's to check.)"""
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            "name must be 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit",
            field=field,
        )
    return name


def validate_description(description: str, *, field: str = "description") -> str:
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description is over {MAX_DESCRIPTION} characters", field=field)
    return description
