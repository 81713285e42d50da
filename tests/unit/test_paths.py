from __future__ import annotations

import pytest

from scripter.domain.errors import InvalidInput
from scripter.domain.paths import validate_relative_path


@pytest.mark.parametrize(
    "raw", ["main.py", "pkg/util.py", "data/a b.csv", "ünïcode.txt", "x" * 255]
)
def test_plain_relative_paths_pass(raw: str):
    assert str(validate_relative_path(raw)) == raw


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("a//b", "empty, '.' or '..' part"),
        ("./a", "'.'"),
        ("a/", "empty"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
        ("a\nb", "control character"),
        ("x" * 256, "over 255 bytes"),
        ("é" * 128, "over 255 bytes"),
        ("/".join(["d" * 200] * 6), "over 1024 bytes"),
    ],
)
def test_bad_paths_are_refused_with_the_reason(raw: str, says: str):
    with pytest.raises(InvalidInput) as caught:
        validate_relative_path(raw)
    assert says in caught.value.message
    assert caught.value.field == "path"
