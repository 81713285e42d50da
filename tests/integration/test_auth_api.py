"""Access control and security headers of the real app (SQLite, in-process bus).

The failed-login window runs on the app's clock, which these tests move by hand:
nothing waits for a minute to pass.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from scripter.adapters.access_token import TokenFile, token_path
from scripter.bootstrap import Role, Scripter, bootstrap
from scripter.http.app import create_app
from scripter.http.auth import SESSION_COOKIE
from tests.integration.app_fixtures import make_test_config
from tests.integration.live_fixtures import WAIT, live_app
from tests.unit.fakes import FixedClock

PROTECTED = [
    ("GET", "/api/images"),
    ("POST", "/api/images"),
    ("GET", "/api/images/1"),
    ("GET", "/api/scripts"),
    ("GET", "/api/jobs"),
    ("GET", "/api/jobs/1/log"),
    ("GET", "/api/jobs/1/log/stream"),
    ("GET", "/api/images/1/build-log/stream"),
    ("GET", "/api/events/stream"),
    ("POST", "/api/schedules/preview"),
    ("GET", "/api/session"),
    ("GET", "/schema"),
    ("GET", "/schema/openapi.json"),
    ("GET", "/schema/swagger-start.js"),
    # Under the server's own prefixes the UI's catch-all route is not public either.
    ("GET", "/api/images/1/files/main.py"),
    ("GET", "/schema/nothing-here"),
]
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
MAX_FAILURES = 10


@dataclass
class AuthApp:
    client: AsyncTestClient[Any]
    scripter: Scripter
    data: Path
    clock: FixedClock

    @property
    def token(self) -> str:
        return token_path(self.data).read_text().strip()

    def bearer(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def log_in(self) -> str:
        response = await self.client.post("/api/session", json={"token": self.token})
        assert response.status_code == 204, response.text
        cookie = self.client.cookies.get(SESSION_COOKIE)
        assert cookie
        return cookie


async def start(tmp_path: Path, **env: str) -> AsyncIterator[AuthApp]:
    data = tmp_path / "data"
    clock = FixedClock()
    scripter = bootstrap(make_test_config(data, **env), clock=clock)
    async with AsyncTestClient(create_app(scripter, roles={Role.API}, migrate=True)) as client:
        yield AuthApp(client=client, scripter=scripter, data=data, clock=clock)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[AuthApp]:
    async for started in start(tmp_path):
        yield started


def assert_refused(response: httpx.Response, status: int = 401) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    return body


# --- who gets in ---------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_endpoint_wants_the_token(app: AuthApp, method: str, path: str) -> None:
    assert_refused(await app.client.request(method, path))
    assert_refused(await app.client.request(method, path, headers=app.bearer("wrong")))


async def test_health_and_the_ui_shell_are_open(app: AuthApp) -> None:
    health = await app.client.get("/healthz")
    assert health.status_code in (200, 503)
    assert "checks" in health.json()
    for path in ("/", "/images/3", "/favicon.svg"):
        page = await app.client.get(path)
        assert page.status_code in (200, 404), path
        assert page.status_code != 401
    root = await app.client.get("/")
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")


async def test_bearer_token_lets_a_client_in(app: AuthApp) -> None:
    response = await app.client.get("/api/images", headers=app.bearer())
    assert response.status_code == 200, response.text
    session = await app.client.get("/api/session", headers=app.bearer())
    assert session.json() == {"auth_enabled": True, "via": "bearer"}
    docs = await app.client.get("/schema/openapi.json", headers=app.bearer())
    assert docs.status_code == 200


async def test_other_schemes_and_malformed_headers_are_refused(app: AuthApp) -> None:
    for value in (f"Basic {app.token}", app.token, "Bearer", "Bearer ", f"Bearer  {app.token}x"):
        response = await app.client.get("/api/images", headers={"Authorization": value})
        assert_refused(response)


async def test_token_file_is_owner_only(app: AuthApp) -> None:
    path = token_path(app.data)
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(app.token) >= 40  # secrets.token_urlsafe(32)


# --- the browser's session cookie -----------------------------------------------------


async def test_login_sets_a_strict_http_only_cookie(app: AuthApp) -> None:
    response = await app.client.post("/api/session", json={"token": app.token})
    assert response.status_code == 204, response.text
    header = response.headers["set-cookie"]
    cookie = SimpleCookie()
    cookie.load(header)
    morsel = cookie[SESSION_COOKIE]
    assert morsel.value and morsel.value != app.token
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) > 0
    # Plain HTTP here: Secure would keep the browser from sending it back.
    assert not morsel["secure"]

    # The client now holds the cookie: no header needed.
    assert (await app.client.get("/api/images")).status_code == 200
    assert (await app.client.get("/schema")).status_code == 200
    session = await app.client.get("/api/session")
    assert session.json() == {"auth_enabled": True, "via": "cookie"}


async def test_cookie_is_secure_behind_https(app: AuthApp) -> None:
    response = await app.client.post(
        "https://testserver.local/api/session", json={"token": app.token}
    )
    assert response.status_code == 204
    assert "secure" in response.headers["set-cookie"].lower()


async def test_a_forged_cookie_is_refused(app: AuthApp) -> None:
    app.client.cookies.set(SESSION_COOKIE, "0" * 64)
    assert_refused(await app.client.get("/api/images"))


async def test_logout_drops_the_cookie(app: AuthApp) -> None:
    await app.log_in()
    response = await app.client.delete("/api/session")
    assert response.status_code == 204
    assert re.search(rf"{SESSION_COOKIE}=.*max-age=0", response.headers["set-cookie"], re.I)
    assert app.client.cookies.get(SESSION_COOKIE) is None
    assert_refused(await app.client.get("/api/images"))


async def test_cookie_is_valid_in_every_api_process_sharing_the_data(
    app: AuthApp, tmp_path: Path
) -> None:
    cookie = await app.log_in()
    # A second api process on the same data directory (as compose scales them).
    other = bootstrap(make_test_config(app.data))
    async with AsyncTestClient(create_app(other, roles={Role.API})) as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        assert (await client.get("/api/images")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"token": ""}, {"token": 123}, {"token": None}, {"token": ["x"]}, {"token": "x" * 2000}],
    ids=["missing", "empty", "number", "null", "list", "overlong"],
)
async def test_bad_login_input_is_a_problem_naming_the_field(
    app: AuthApp, body: dict[str, Any]
) -> None:
    response = await app.client.post("/api/session", json=body)
    problem = assert_refused(response, 400)
    assert problem["field"] == "token", problem


async def test_login_needs_a_json_object(app: AuthApp) -> None:
    for content in (b"not json", b"[]", b'"token"'):
        response = await app.client.post(
            "/api/session", content=content, headers={"Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_wrong_login_is_a_401_naming_the_token(app: AuthApp) -> None:
    response = await app.client.post("/api/session", json={"token": "wrong"})
    problem = assert_refused(response)
    assert problem["field"] == "token"
    assert "set-cookie" not in response.headers


# --- rotation --------------------------------------------------------------------------


async def test_rotation_locks_out_the_old_token_and_its_cookies(app: AuthApp) -> None:
    old = app.token
    await app.log_in()
    assert (await app.client.get("/api/images")).status_code == 200

    # As `scripter token rotate` does, from another process.
    new = TokenFile(token_path(app.data)).rotate()

    assert new != old
    assert_refused(await app.client.get("/api/images", headers=app.bearer(old)))
    stale = await app.client.get("/api/images")
    assert_refused(stale)
    # The browser is told to drop the stale cookie.
    assert re.search(rf"{SESSION_COOKIE}=.*max-age=0", stale.headers["set-cookie"], re.I)
    assert (await app.client.get("/api/images", headers=app.bearer(new))).status_code == 200
    await app.log_in()
    assert (await app.client.get("/api/images")).status_code == 200


async def test_a_missing_token_file_refuses_everyone(app: AuthApp) -> None:
    token = app.token
    token_path(app.data).unlink()
    response = await app.client.get("/api/images", headers=app.bearer(token))
    assert_refused(response, 503)
    assert (await app.client.get("/healthz")).status_code in (200, 503)


# --- failed logins are rate-limited -------------------------------------------------------


async def test_failed_logins_are_limited_per_address_then_forgiven(app: AuthApp) -> None:
    await app.log_in()
    for attempt in range(MAX_FAILURES):
        if attempt % 2:
            response = await app.client.get("/api/images", headers=app.bearer(f"guess{attempt}"))
        else:
            response = await app.client.post("/api/session", json={"token": f"guess{attempt}"})
        assert_refused(response)

    # Now even the right token waits: a guess must not be checked at all.
    for blocked in (
        await app.client.get("/api/images", headers=app.bearer()),
        await app.client.get("/api/images", headers=app.bearer("another guess")),
        await app.client.post("/api/session", json={"token": app.token}),
    ):
        assert_refused(blocked, 429)
        retry_after = int(blocked.headers["retry-after"])
        assert 1 <= retry_after <= 60
    # A browser that is logged in already goes on working (its cookie is no guess).
    assert (await app.client.get("/api/images")).status_code == 200

    app.clock.advance(seconds=30)
    assert_refused(await app.client.get("/api/images", headers=app.bearer()), 429)
    app.clock.advance(seconds=31)
    assert (await app.client.get("/api/images", headers=app.bearer())).status_code == 200
    # A success forgets the failures: one more wrong token is just a 401.
    assert_refused(await app.client.get("/api/images", headers=app.bearer("wrong")))
    assert (await app.client.get("/api/images", headers=app.bearer())).status_code == 200


async def test_requests_without_credentials_are_not_counted(app: AuthApp) -> None:
    for _ in range(MAX_FAILURES * 2):
        assert_refused(await app.client.get("/api/images"))
    assert (await app.client.get("/api/images", headers=app.bearer())).status_code == 200


async def test_the_limit_comes_from_config(tmp_path: Path) -> None:
    async for app in start(tmp_path, SCRIPTER_AUTH_MAX_FAILED_LOGINS="2"):
        for _ in range(2):
            assert_refused(await app.client.get("/api/images", headers=app.bearer("x")))
        assert_refused(await app.client.get("/api/images", headers=app.bearer()), 429)
        app.clock.advance(timedelta(seconds=61))
        assert (await app.client.get("/api/images", headers=app.bearer())).status_code == 200


# --- auth off ---------------------------------------------------------------------------


async def test_auth_off_lets_everyone_in_and_makes_no_token(tmp_path: Path) -> None:
    async for app in start(tmp_path, SCRIPTER_AUTH_ENABLED="false"):
        assert (await app.client.get("/api/images")).status_code == 200
        assert (await app.client.get("/schema/openapi.json")).status_code == 200
        assert (await app.client.get("/api/session")).json() == {
            "auth_enabled": False,
            "via": None,
        }
        assert (await app.client.post("/api/session", json={"token": "x"})).status_code == 204
        assert not token_path(app.data).exists()
        document = (await app.client.get("/schema/openapi.json")).json()
        assert "security" not in document


# --- the OpenAPI document ------------------------------------------------------------------


async def test_document_names_the_bearer_scheme_and_the_open_endpoints(app: AuthApp) -> None:
    document = (await app.client.get("/schema/openapi.json", headers=app.bearer())).json()
    assert document["security"] == [{"AccessToken": []}]
    assert document["components"]["securitySchemes"]["AccessToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["AccessToken"]["description"],
    }
    assert document["paths"]["/healthz"]["get"]["security"] == []
    assert document["paths"]["/api/session"]["post"]["security"] == []
    assert "security" not in document["paths"]["/api/images"]["get"]


# --- security headers ---------------------------------------------------------------------


def assert_security_headers(response: httpx.Response) -> str:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    return policy


async def test_every_kind_of_response_has_the_security_headers(app: AuthApp) -> None:
    await app.log_in()
    responses = [
        await app.client.get("/"),
        await app.client.get("/images/1"),
        await app.client.get("/healthz"),
        await app.client.get("/api/images"),
        await app.client.get("/api/images/999"),
        await app.client.get("/schema"),
        await app.client.get("/schema/swagger-start.js"),
        await app.client.post("/api/nope"),  # the router's own 404, before any middleware
        await app.client.put("/healthz"),  # and its 405
    ]
    app.client.cookies.set(SESSION_COOKIE, "stale")
    responses.append(await app.client.get("/api/images"))  # a 401 from the middleware
    app.client.cookies.clear()
    responses.append(await app.client.get("/api/images"))
    for response in responses:
        assert_security_headers(response)


async def test_docs_page_runs_no_inline_script(app: AuthApp) -> None:
    await app.log_in()
    page = await app.client.get("/schema")
    assert page.status_code == 200
    html = page.text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts, html
    for attributes, body in scripts:
        assert "src=" in attributes and not body.strip(), html
    assert "<style" not in html and "style=" not in html
    start = re.findall(r'<script src="([^"]*swagger-start[^"]*)"', html)
    assert start == ["/schema/swagger-start.js"]
    script = await app.client.get(start[0])
    assert script.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle(" in script.text
    spec_url = re.search(r'data-spec-url="([^"]+)"', html)
    assert spec_url and spec_url.group(1) == "/schema/openapi.json"


# --- live streams over real HTTP ---------------------------------------------------------


async def test_streams_want_the_token_and_take_cookie_or_bearer(tmp_path: Path) -> None:
    async with (
        live_app(tmp_path / "data", {Role.API}) as live,
        httpx.AsyncClient(base_url=live.base_url, timeout=WAIT) as client,
    ):
        refused = await client.get("/api/events/stream")
        assert_refused(refused)
        for headers in (live.headers, {}):
            if not headers:
                token = live.headers["Authorization"].split(" ", 1)[1]
                login = await client.post("/api/session", json={"token": token})
                assert login.status_code == 204
            async with client.stream("GET", "/api/events/stream", headers=headers) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                assert_security_headers(stream)
