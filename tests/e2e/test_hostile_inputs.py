"""Hostile inputs against a real ``scripter serve``, sent as raw HTTP (no client
normalises ``..`` or encodings away): path traversal on every file endpoint, oversize
bodies, malformed JSON, bad cron and timezones, bad names. Each is refused with a
4xx problem naming the field, and changes nothing: not a byte in the data directory,
not a row, nothing outside ``src/`` (a folder beside the data directory, where
planted symlinks point, is checked too), and no answer shows a byte from outside.
"""

from __future__ import annotations

import http.client
import json
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.hostile import CANARY, MAX_FILE_BYTES, HostileServer, hostile_server
from tests.figures import record
from tests.integration.refusals import database, disk

pytestmark = [pytest.mark.docker, pytest.mark.hostile]

TOKEN = secrets.token_urlsafe(32)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def problem(self) -> dict[str, Any]:
        assert self.headers.get("content-type", "").startswith("application/problem+json"), self
        problem: dict[str, Any] = json.loads(self.body)
        return problem


def send(
    server: HostileServer,
    method: str,
    raw_path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request with the path exactly as given (http.client sends it as it is)."""
    url = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        connection.putrequest(method, raw_path, skip_accept_encoding=True)
        sent = {**server.headers, **(headers or {})}
        if body is not None and "Content-Length" not in sent:
            sent["Content-Length"] = str(len(body))
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders()
        if body is not None:
            connection.send(body)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def send_json(server: HostileServer, method: str, path: str, payload: object) -> Answer:
    body = json.dumps(payload).encode()
    return send(server, method, path, body, {"Content-Type": "application/json"})


figures: dict[str, Counter[str]] = {}


def tally(family: str, answer: Answer, escaped: bool = False) -> None:
    counts = figures.setdefault(family, Counter())
    counts["inputs"] += 1
    counts["server_errors"] += answer.status >= 500
    counts["escapes"] += escaped


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileServer]:
    with hostile_server(tmp_path_factory.mktemp("hostile-inputs"), token=TOKEN) as started:
        with started.client() as client:
            dormant = client.post("/api/images", json={"name": "files"})
            assert dormant.status_code == 201, dormant.text
            started.seeded["dormant_image"] = dormant.json()["id"]
        yield started
    for family, counts in figures.items():
        record("hostile", family, **counts)


class Unchanged:
    """Asserts that a refused request changed nothing and read nothing from outside."""

    def __init__(self, server: HostileServer) -> None:
        self.server = server
        self.before = (disk(server.data), database(server.data), server.outside_state())

    def check(self, answer: Answer) -> bool:
        """Whether something escaped (changed, or was read from outside)."""
        after = (disk(self.server.data), database(self.server.data), self.server.outside_state())
        return after != self.before or CANARY.strip() in answer.body


def assert_refused(
    server: HostileServer, family: str, answer: Answer, guard: Unchanged, field: str, status: int
) -> None:
    escaped = guard.check(answer)
    tally(family, answer, escaped)
    assert answer.status == status, (answer.status, answer.body)
    problem = answer.problem
    assert problem["status"] == status and problem["detail"]
    assert problem.get("field") == field, problem
    assert not escaped, "the refused request changed something or read from outside"


# --- path traversal ----------------------------------------------------------------------

TRAVERSALS = [
    # (as sent in the URL, after files/)
    "..",
    "../..",
    "../../../../outside/passwd",
    "a/../../b",
    "/etc/passwd",  # files//etc/passwd: absolute
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2F..%2F..%2Foutside%2Fpasswd",
    "a%00b",
    "main.py%00.txt",
    "..%5C..%5Coutside%5Cpasswd",
    "a%5Cb",
    "a//b",
    "a/",
    "./main.py",
    "a/./b",
    "x" * 300,
    "/".join(["d" * 200] * 6),
    "%0a",
    "a%1bb",
]
FILE_ENDPOINTS = [
    ("GET", "images"),
    ("PUT", "images"),
    ("DELETE", "images"),
    ("GET", "scripts"),
    ("PUT", "scripts"),
    ("DELETE", "scripts"),
]


def owner(server: HostileServer, area: str) -> int:
    return server.seeded["dormant_image"] if area == "images" else server.seeded["script"]


@pytest.mark.parametrize(("method", "area"), FILE_ENDPOINTS)
@pytest.mark.parametrize("raw", TRAVERSALS)
def test_traversal_in_the_url_is_refused(server: HostileServer, method: str, area: str, raw: str):
    guard = Unchanged(server)
    body = b"pwned\n" if method == "PUT" else None
    answer = send(server, method, f"/api/{area}/{owner(server, area)}/files/{raw}", body)
    assert_refused(server, "path traversal: file URLs", answer, guard, "path", 422)


@pytest.mark.parametrize(("method", "area"), FILE_ENDPOINTS)
def test_a_double_encoded_path_is_decoded_once_and_stays_inside_src(
    server: HostileServer, method: str, area: str
):
    """``%252e%252e%252f`` is ``%2e%2e%2f`` after the one decoding a URL gets: an odd
    but harmless file name inside ``src/``, never ``../``."""
    guard = Unchanged(server)
    src = server.data / area / str(owner(server, area)) / "src"
    body = b"odd name\n" if method == "PUT" else None
    raw = "%252e%252e%252f%252e%252e%252foutside%252fpasswd"
    answer = send(server, method, f"/api/{area}/{owner(server, area)}/files/{raw}", body)
    literal = src / "%2e%2e%2f%2e%2e%2foutside%2fpasswd"
    escaped = server.outside_state() != guard.before[2] or CANARY.strip() in answer.body
    tally("path traversal: double-encoded URLs", answer, escaped)
    assert answer.status < 500 and not escaped
    if method == "PUT":
        assert answer.status == 200, answer.body
        assert literal.read_bytes() == b"odd name\n"
    elif method == "DELETE":
        assert answer.status in (204, 404)
        assert not literal.exists()
    else:
        assert answer.status in (200, 404)


def plant_links(server: HostileServer, area: str) -> Path:
    src = server.data / area / str(owner(server, area)) / "src"
    src.mkdir(parents=True, exist_ok=True)
    for name, target in (("dirlink", server.outside), ("filelink", server.outside / "passwd")):
        link = src / name
        if not link.is_symlink():
            link.symlink_to(target)
    return src


LINK_CASES = [
    ("GET", "filelink"),
    ("PUT", "filelink"),
    ("DELETE", "filelink"),
    ("GET", "dirlink/passwd"),
    ("PUT", "dirlink/passwd"),
    ("PUT", "dirlink/new.txt"),
    ("DELETE", "dirlink/passwd"),
    ("PUT", "dirlink/folder/deeper/new.txt"),
]


@pytest.mark.parametrize("area", ["images", "scripts"])
@pytest.mark.parametrize(("method", "path"), LINK_CASES)
def test_a_symlink_planted_in_src_is_never_followed(
    server: HostileServer, area: str, method: str, path: str
):
    plant_links(server, area)
    guard = Unchanged(server)
    body = b"pwned\n" if method == "PUT" else None
    answer = send(server, method, f"/api/{area}/{owner(server, area)}/files/{path}", body)
    if (area, method) == ("scripts", "DELETE"):
        # A script's files are its revision's: a link is none of them, so the delete
        # is refused before the disk is looked at.
        escaped = guard.check(answer)
        tally("path traversal: symlinks in src/", answer, escaped)
        assert answer.status == 404 and not escaped, answer
    else:
        assert_refused(server, "path traversal: symlinks in src/", answer, guard, "path", 422)
        assert b"symbolic link" in answer.body
    assert (server.outside / "passwd").read_bytes() == CANARY
    assert sorted(p.name for p in server.outside.iterdir()) == ["folder", "passwd"]


JSON_PATHS = [
    "..",
    "../../outside/passwd",
    "/etc/passwd",
    "a\x00b",
    "..\\..\\outside\\passwd",
    "a//b",
    "a/",
    "./a",
    "",
    "x" * 300,
    "/".join(["d" * 200] * 6),
    "a\nb",
]


@pytest.mark.parametrize("path", JSON_PATHS)
def test_traversal_in_uploaded_files_is_refused(server: HostileServer, path: str):
    files = [{"path": path, "content": "pwned"}]
    for url, payload in (
        ("/api/images", {"name": "upload-image", "files": files}),
        (
            "/api/scripts",
            {"name": "upload-script", "image_id": server.seeded["image"], "files": files},
        ),
    ):
        guard = Unchanged(server)
        answer = send_json(server, "POST", url, payload)
        assert_refused(
            server, "path traversal: uploaded file names", answer, guard, f"files.{path}", 422
        )


@pytest.mark.parametrize("path", JSON_PATHS)
def test_traversal_in_the_entry_file_is_refused(server: HostileServer, path: str):
    guard = Unchanged(server)
    answer = send_json(
        server, "PATCH", f"/api/scripts/{server.seeded['script']}", {"entry_file": path}
    )
    assert_refused(server, "path traversal: entry file", answer, guard, "entry_file", 422)


# --- oversize bodies ---------------------------------------------------------------------


@pytest.mark.parametrize("area", ["images", "scripts"])
def test_an_oversize_file_is_refused_before_anything_is_written(server: HostileServer, area: str):
    url = f"/api/{area}/{owner(server, area)}/files/big.bin"
    cases = [
        ("declared", send, (b"x" * (MAX_FILE_BYTES + 1),), {}),
        # The length announced is over the limit: refused before the body is read.
        ("announced", send, (b"x",), {"Content-Length": str(10**12)}),
    ]
    for _, call, args, headers in cases:
        guard = Unchanged(server)
        answer = call(server, "PUT", url, *args, headers=headers)
        assert_refused(server, "oversize bodies", answer, guard, "content", 413)


def test_a_chunked_upload_past_the_limit_is_cut_off(server: HostileServer):
    url = urlsplit(server.base_url)
    guard = Unchanged(server)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        chunk = b"y" * 16384
        body = iter([chunk] * (MAX_FILE_BYTES // len(chunk) + 2))
        connection.request(
            "PUT",
            f"/api/scripts/{server.seeded['script']}/files/chunked.bin",
            body=body,
            headers={**server.headers, "Transfer-Encoding": "chunked"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        answer = Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server closed the connection instead of answering 413")
    finally:
        connection.close()
    assert_refused(server, "oversize bodies", answer, guard, "content", 413)


def test_oversize_json_bodies_are_refused(server: HostileServer):
    big = "z" * (MAX_FILE_BYTES + 1)
    cases = [
        # A file in the body over the file limit (the body itself is under its own).
        (
            "/api/images",
            {"name": "big", "files": [{"path": "big.txt", "content": big}]},
            "files.big.txt",
        ),
        (
            "/api/scripts",
            {"name": "big", "image_id": 1, "files": [{"path": "main.py", "content": big}]},
            "files.main.py",
        ),
    ]
    for url, payload, field in cases:
        guard = Unchanged(server)
        answer = send_json(server, "POST", url, payload)
        assert_refused(server, "oversize bodies", answer, guard, field, 413)
    # The whole body over the server's limit (twice the file limit and 1 MB).
    guard = Unchanged(server)
    body = b'{"name": "huge", "description": "' + b"d" * (2 * MAX_FILE_BYTES + 2**20) + b'"}'
    answer = send(server, "POST", "/api/images", body, {"Content-Type": "application/json"})
    assert_refused(server, "oversize bodies", answer, guard, "body", 413)


# --- malformed bodies, cron, timezones, names ---------------------------------------------


MALFORMED = [
    (b"{", "body"),
    (b'{"name": ', "body"),
    (b"[]", "body"),
    (b"null", "body"),
    (b'"text"', "body"),
    (b"\xff\xfe", "body"),
    (b'{"name": 5}', "name"),
    (b'{"name": "ok", "files": "no"}', "files"),
    (b'{"name": "ok", "files": [{"path": 1, "content": ""}]}', "files[0].path"),
    (b'{"name": "ok", "unknown": 1}', "unknown"),
    (b'{"name": "ok", "description": null}', "description"),
]


@pytest.mark.parametrize(("body", "field"), MALFORMED)
def test_malformed_json_is_a_400_naming_the_field(server: HostileServer, body: bytes, field: str):
    guard = Unchanged(server)
    answer = send(server, "POST", "/api/images", body, {"Content-Type": "application/json"})
    assert_refused(server, "malformed JSON", answer, guard, field, 400)


BAD_CRONS = [
    "61 * * * *",
    "* * *",
    "* * * * * * *",
    "",
    "   ",
    "@every 5m",
    "*/0 * * * *",
    "a b c d e",
    "0 0 31 2 *",
    "* " * 5000,
    "0 0 * * 8",
    "\x00 * * * *",
]
BAD_TIMEZONES = [
    "Mars/Olympus",
    "",
    "../../etc/localtime",
    "/etc/localtime",
    "UTC\x00",
    "Europe/Berlin/../../../etc/passwd",
    "x" * 10000,
    "utc ",
]


@pytest.mark.parametrize("cron", BAD_CRONS)
def test_a_bad_cron_is_a_422_naming_cron(server: HostileServer, cron: str):
    for url in (f"/api/scripts/{server.seeded['script']}/schedules", "/api/schedules/preview"):
        guard = Unchanged(server)
        answer = send_json(server, "POST", url, {"cron": cron, "timezone": "UTC"})
        assert_refused(server, "bad cron expressions", answer, guard, "cron", 422)


@pytest.mark.parametrize("timezone", BAD_TIMEZONES)
def test_a_bad_timezone_is_a_422_naming_timezone(server: HostileServer, timezone: str):
    for url in (f"/api/scripts/{server.seeded['script']}/schedules", "/api/schedules/preview"):
        guard = Unchanged(server)
        answer = send_json(server, "POST", url, {"cron": "0 3 * * *", "timezone": timezone})
        assert_refused(server, "bad timezones", answer, guard, "timezone", 422)


BAD_NAMES = [
    "",
    " ",
    "naïve",
    "日本語",
    "emoji-🙂",
    "x" * 101,
    "x" * 10000,
    "a\x00b",
    "a\nb",
    "trailing\n",
    "a\tb",
    "a\x1bb",
    "\u202egnp.exe",
    "-leading-dash",
    ".hidden",
    "a/b",
    "../x",
    "a b",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_name_is_a_422_naming_name(server: HostileServer, name: str):
    for method, url, payload in (
        ("POST", "/api/images", {"name": name}),
        ("POST", "/api/scripts", {"name": name, "image_id": server.seeded["image"]}),
        ("PATCH", f"/api/images/{server.seeded['image']}", {"name": name}),
        ("PATCH", f"/api/scripts/{server.seeded['script']}", {"name": name}),
    ):
        guard = Unchanged(server)
        answer = send_json(server, method, url, payload)
        assert_refused(server, "bad names", answer, guard, "name", 422)


# --- numbers and types the framework would have let through ------------------------------


BIG = 2**70
NUMBERS = [
    # (method, url, headers, status, field)
    ("GET", f"/api/images/{BIG}", {}, 400, "image_id"),
    ("POST", f"/api/images/{BIG}/destroy", {}, 400, "image_id"),
    ("DELETE", f"/api/scripts/{BIG}", {}, 400, "script_id"),
    ("GET", f"/api/scripts/1/revisions/{BIG}", {}, 400, "number"),
    ("GET", f"/api/jobs?cursor={BIG}", {}, 400, "cursor"),
    ("GET", f"/api/jobs?script_id={BIG}", {}, 400, "script_id"),
    ("GET", f"/api/images/1/build-log?offset={BIG}", {}, 400, "offset"),
    ("GET", f"/api/jobs/1/log?limit={BIG}", {}, 400, "limit"),
    ("GET", "/api/images/0", {}, 400, "image_id"),
    ("GET", "/api/images/1/build-log/stream", {"Last-Event-ID": str(BIG)}, 422, "Last-Event-ID"),
    ("GET", "/api/images/1/build-log/stream", {"Last-Event-ID": "-1"}, 422, "Last-Event-ID"),
]


@pytest.mark.parametrize(("method", "url", "headers", "status", "field"), NUMBERS)
def test_numbers_out_of_range_are_refused_naming_the_parameter(
    server: HostileServer, method: str, url: str, headers: dict[str, str], status: int, field: str
):
    guard = Unchanged(server)
    answer = send(server, method, url, headers=headers)
    assert_refused(server, "numbers out of range", answer, guard, field, status)


def test_a_huge_limit_reads_only_what_the_log_holds(server: HostileServer):
    """2**53 bytes asked of a small log: its bytes (read(n) used to set aside n)."""
    answer = send(
        server, "GET", f"/api/images/{server.seeded['image']}/build-log?limit={2**53 - 1}"
    )
    tally("numbers out of range", answer)
    assert answer.status == 200 and int(answer.headers["x-next-offset"]) == len(answer.body)


LENIENT = [
    # msgspec's non-strict conversion took these as a number, a date, a list.
    ("/api/schedules/preview", {"cron": "0 3 * * *", "after": 0}, "after"),
    ("/api/schedules/preview", {"cron": "0 3 * * *", "count": "5"}, "count"),
    ("/api/images", {"name": "lenient", "description": 5}, "description"),
    ("/api/scripts", {"name": "lenient", "image_id": "1"}, "image_id"),
    (
        "/api/scripts",
        {"name": "lenient", "image_id": 1, "timeout_seconds": "60"},
        "timeout_seconds",
    ),
    ("/api/scripts", {"name": "lenient", "image_id": 1, "limits": {"cpus": "1"}}, "limits.cpus"),
    ("/api/scripts", {"name": "lenient", "image_id": 1, "limits": {"swap": 1}}, "limits.swap"),
    ("/api/scripts", {"name": "lenient", "image_id": 1, "read_only_root": "no"}, "read_only_root"),
    ("/api/scripts", {"name": "lenient", "image_id": 1, "read_only_root": 0}, "read_only_root"),
]


@pytest.mark.parametrize(("url", "payload", "field"), LENIENT)
def test_json_of_the_wrong_type_is_refused_not_converted(
    server: HostileServer, url: str, payload: dict[str, object], field: str
):
    guard = Unchanged(server)
    answer = send_json(server, "POST", url, payload)
    assert_refused(server, "malformed JSON", answer, guard, field, 400)
