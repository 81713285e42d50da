"""The UI as a person sees it: served by ``scripter serve``, rendered by Chromium."""

from __future__ import annotations

import json
import re
import struct
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

CHECKS = ("db", "broker", "docker")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _live_health(base_url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
            body = response.read()
    except urllib.error.HTTPError as error:  # 503: a check is down, same body
        body = error.read()
    health: dict[str, Any] = json.loads(body)
    return health


def _open(page: Page, url: str) -> list[str]:
    """Go to ``url`` and wait for the health panel; returns uncaught page errors."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.get_by_test_id("check-docker").wait_for()
    return errors


def test_home_page_shows_live_health(app_url: str, logged_in_page: Page, tmp_path: Path) -> None:
    page = logged_in_page
    errors = _open(page, f"{app_url}/")

    assert page.title() == "Scripter"
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    assert "Run Python scripts in Docker" in page.locator("body").inner_text()
    assert page.get_by_role("link", name="API docs").get_attribute("href") == "/schema"
    assert page.get_by_role("link", name="Scripter, dashboard").is_visible()

    health = _live_health(app_url)
    for name in CHECKS:
        text = page.get_by_test_id(f"check-{name}").inner_text()
        assert name in text
        assert re.match(rf"{name}: (ok|error)\b", text), text
        assert name in health["checks"], health
    # SQLite in a fresh data directory is always up, so this one can be exact.
    assert (
        page.get_by_test_id("check-db")
        .inner_text()
        .startswith(f"db: {health['checks']['db']['status']}")
    )
    assert page.get_by_test_id("health-error").count() == 0
    assert errors == []

    screenshot = tmp_path / "home.png"
    page.screenshot(path=str(screenshot))
    data = screenshot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert (width, height) == (1280, 800)
    assert len(data) > 5_000  # a blank page compresses to far less


def test_narrow_viewport_has_no_horizontal_scroll(app_url: str, logged_in_page: Page) -> None:
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    errors = _open(page, f"{app_url}/")

    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    for name in CHECKS:
        assert page.get_by_test_id(f"check-{name}").is_visible()
        assert name in page.get_by_test_id(f"check-{name}").inner_text()
    scroll_width, client_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert client_width == 390
    assert scroll_width <= client_width
    assert errors == []


def test_api_docs_render_offline(app_url: str, logged_in_page: Page) -> None:
    """Swagger UI at /schema renders from files this server serves: no CDN, and
    within the Content-Security-Policy (no inline script; ``browser_page`` fails the
    test on a violation). The session cookie takes it past the access check."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page = logged_in_page
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))

    def outside() -> list[str]:
        return [url for url in requests if not url.startswith((f"{app_url}/", "data:", "blob:"))]

    page.goto(f"{app_url}/schema")
    title = page.locator(".swagger-ui .info .title")
    try:
        title.wait_for()
    except PlaywrightTimeoutError:
        pytest.fail(f"Swagger UI did not render; requests that left the server: {outside()}")
    assert title.inner_text().startswith("Scripter API")
    healthz = page.locator(".opblock-get .opblock-summary-path[data-path='/healthz']")
    healthz.wait_for()
    assert healthz.is_visible()
    assert page.locator(".opblock-post .opblock-summary-path[data-path='/api/images']").count()

    # Open an operation: Swagger UI renders its parameters and responses in place.
    healthz.click()
    page.locator(".opblock-get.is-open .responses-wrapper").wait_for()
    # "Try it out" calls the API from the page (with the session cookie).
    page.locator(".opblock-get.is-open").get_by_role("button", name="Try it out").click()
    page.locator(".opblock-get.is-open").get_by_role("button", name="Execute").click()
    status = page.locator(
        ".opblock-get.is-open .live-responses-table tbody .response-col_status"
    ).first
    status.wait_for()
    assert status.inner_text().strip() in ("200", "503")
    page.wait_for_load_state("networkidle")

    assert page.title() == "Scripter API"
    assert errors == []
    assert f"{app_url}/vendor/swagger-ui/swagger-ui-bundle.js" in requests
    assert outside() == [], "requests left the server"


def test_login_screen_until_the_token_is_pasted(
    app_url: str, browser_page: Page, access_token: str
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{app_url}/jobs")
    page.get_by_test_id("login-screen").wait_for()
    assert page.title() == "Log in · Scripter"
    assert page.get_by_test_id("live-mode").count() == 0  # nothing of the app

    field = page.get_by_label("Access token")
    field.fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("error-access-token")).to_contain_text("not valid")

    field.fill(access_token)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jobs")
    assert page.url == f"{app_url}/jobs"
    expect(page.get_by_test_id("live-mode")).to_have_text("Live")
    cookie = next(c for c in page.context.cookies() if c["name"] == "scripter_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert "scripter_session" not in page.evaluate("document.cookie")

    page.get_by_test_id("log-out").click()
    expect(page.get_by_test_id("login-notice")).to_have_text("You have logged out.")
    page.reload()
    page.get_by_test_id("login-screen").wait_for()


def test_a_login_link_with_a_wrong_token_says_so(app_url: str, browser_page: Page) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{app_url}/scripts?token=wrong-token")
    expect(page.get_by_test_id("login-notice")).to_contain_text("did not log you in")
    assert page.url == f"{app_url}/scripts"  # the token is out of the address
