"""``scripter serve`` over plain HTTP, as a user (or a monitoring probe) meets it.

One real server process (the session's ``scripter_server``): health, the OpenAPI
document and its offline docs page, problem bodies for API errors, the UI's
client-side routes, the access token and security headers, and the data directory
it set up. The client sends the token the server made (auth is on by default).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI, require_service
from tests.e2e.conftest import UI_DIST

PROBLEM_JSON = "application/problem+json"
SWAGGER_FILES = {
    "/vendor/swagger-ui/swagger-ui-bundle.js": "text/javascript",
    "/vendor/swagger-ui/swagger-ui-standalone-preset.js": "text/javascript",
    "/vendor/swagger-ui/swagger-ui.css": "text/css",
}


@pytest.fixture
def client(scripter_server: str, api_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=scripter_server, timeout=15, follow_redirects=False, headers=api_headers
    ) as http:
        yield http


@pytest.fixture
def anonymous(scripter_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=scripter_server, timeout=15, follow_redirects=False) as http:
        yield http


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def _index_html() -> bytes:
    require_service(
        "the built UI", (UI_DIST / "index.html").exists(), "cd ui && npm ci && npm run build"
    )
    return (UI_DIST / "index.html").read_bytes()


# --- health -------------------------------------------------------------------------


def test_healthz_reports_every_check_ok(client: httpx.Client) -> None:
    response = client.get("/healthz")
    body = response.json()

    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    assert set(body["checks"]) == {"db", "broker", "docker"}, body
    # SQLite in a fresh data directory and the in-process bus are always up.
    assert body["checks"]["db"]["status"] == "ok", body
    assert body["checks"]["broker"]["status"] == "ok", body
    docker = body["checks"]["docker"]
    require_service("the Docker engine", docker["status"] == "ok", str(docker))
    assert response.status_code == 200, body
    assert body["status"] == "ok", body


def test_healthz_is_503_only_when_a_check_fails(client: httpx.Client) -> None:
    response = client.get("/healthz")
    body = response.json()
    failing = {name for name, check in body["checks"].items() if check["status"] != "ok"}
    assert (response.status_code == 503) == bool(failing), body
    assert body["status"] == ("error" if failing else "ok"), body
    if IN_CI:
        assert not failing, body


# --- OpenAPI ------------------------------------------------------------------------


def test_openapi_document_describes_the_api(client: httpx.Client) -> None:
    response = client.get("/schema/openapi.json")

    assert response.status_code == 200
    assert "json" in response.headers["content-type"]
    document = response.json()
    assert re.fullmatch(r"3\.\d+\.\d+", document["openapi"]), document["openapi"]
    assert document["info"]["title"] == "Scripter API"
    assert {"/healthz", "/api/images"} <= set(document["paths"])
    assert {"get", "post"} <= set(document["paths"]["/api/images"])
    # The UI's catch-all route is not part of the API.
    assert not any("file_path" in path for path in document["paths"]), document["paths"]


def test_docs_page_loads_swagger_ui_from_this_server(client: httpx.Client) -> None:
    _index_html()  # the Swagger UI files come with the UI build
    response = client.get("/schema")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    head = html[: html.index("</head>")]
    # Nothing from a CDN: every script, stylesheet and icon is root-relative.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", head), head
    for path, content_type in SWAGGER_FILES.items():
        assert path in head, head
        asset = client.get(path)
        assert asset.status_code == 200, path
        assert asset.headers["content-type"].startswith(content_type), (path, asset.headers)
        assert len(asset.content) > 10_000, path
    assert b"SwaggerUIBundle" in client.get("/vendor/swagger-ui/swagger-ui-bundle.js").content


# --- errors are problem JSON, never the UI ------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/nope"),
        ("GET", "/api"),
        ("GET", "/api/images/not-a-number"),
        ("GET", "/api/images/999999"),
        ("POST", "/api/nope"),
        ("DELETE", "/api/nope/1"),
        ("GET", "/healthz/nope"),
    ],
)
def test_unknown_api_paths_are_404_problems(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path)
    body = _assert_problem(response, 404)
    assert "<html" not in response.text.lower(), body


def test_malformed_json_body_is_a_400_problem(client: httpx.Client) -> None:
    response = client.post(
        "/api/images", content=b'{"name": "broken', headers={"content-type": "application/json"}
    )
    _assert_problem(response, 400)


def test_invalid_field_is_a_problem_naming_it(client: httpx.Client) -> None:
    response = client.post("/api/images", json={"name": "x", "no_such_field": 1})
    body = _assert_problem(response, 400)
    assert "no_such_field" in body["detail"], body


def test_wrong_method_on_an_api_route_is_a_405_problem(client: httpx.Client) -> None:
    _assert_problem(client.put("/api/images", json={}), 405)


# --- the UI: files, and index.html for client-side routes ----------------------------


def test_root_serves_the_ui(client: httpx.Client) -> None:
    index = _index_html()
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == index


@pytest.mark.parametrize("path", ["/images/3", "/images/3/", "/scripts", "/jobs/12/log"])
def test_client_side_routes_serve_index_html(client: httpx.Client, path: str) -> None:
    index = _index_html()
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == index

    head = client.head(path)
    assert head.status_code == 200
    assert head.content == b""


def test_ui_assets_are_served_with_their_types(client: httpx.Client) -> None:
    index = _index_html().decode()
    assets = re.findall(r"""(?:src|href)="(/assets/[^"]+)\"""", index)
    assert any(a.endswith(".js") for a in assets), index
    for path in assets:
        response = client.get(path)
        assert response.status_code == 200, path
        expected = "text/css" if path.endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(expected), path
    assert client.get("/favicon.svg").headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize("path", ["/assets/gone.js", "/favicon.ico", "/vendor/swagger-ui/x.js"])
def test_missing_files_are_404_not_the_app(client: httpx.Client, path: str) -> None:
    _index_html()
    _assert_problem(client.get(path), 404)


def test_paths_outside_the_ui_folder_are_not_served(client: httpx.Client) -> None:
    _index_html()
    # httpx would normalise the dots away: send them as they are.
    for raw in ("/../pyproject.toml", "/%2e%2e/%2e%2e/pyproject.toml", "/assets/..%2f..%2fa.py"):
        response = client.get(httpx.URL(str(client.base_url)).copy_with(raw_path=raw.encode()))
        assert response.status_code == 404, (raw, response.text)
        assert "[project]" not in response.text


def test_non_get_on_a_ui_route_is_refused(client: httpx.Client) -> None:
    response = client.post("/images/3", json={})
    _assert_problem(response, 405)


# --- access and security headers -----------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/images", "/api/events/stream", "/schema", "/schema/openapi.json"]
)
def test_api_and_docs_want_the_token(anonymous: httpx.Client, path: str) -> None:
    response = anonymous.get(path)
    _assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_health_and_the_ui_shell_are_open(anonymous: httpx.Client) -> None:
    _index_html()
    assert anonymous.get("/healthz").status_code in (200, 503)
    assert anonymous.get("/").status_code == 200
    assert anonymous.get("/scripts/1").status_code == 200
    assert anonymous.get("/favicon.svg").status_code == 200


def test_security_headers_on_the_ui_and_the_api(client: httpx.Client) -> None:
    index = _index_html().decode()
    asset = re.findall(r'src="(/assets/[^"]+)"', index)[0]
    for path in ("/", "/jobs/1", asset, "/api/images", "/schema", "/healthz"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "no-referrer", path
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path


# --- the data directory -------------------------------------------------------------


def test_data_directory_is_set_up(client: httpx.Client, scripter_data_dir: Path) -> None:
    assert client.get("/healthz").json()["checks"]["db"]["status"] == "ok"
    assert (scripter_data_dir / "images").is_dir()
    assert (scripter_data_dir / "scripts").is_dir()
    assert (scripter_data_dir / "scripter.db").is_file()
    assert (scripter_data_dir / "scripter.db").stat().st_size > 0
