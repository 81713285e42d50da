"""End-to-end plumbing: a real ``scripter serve`` process and a headless Chromium.

The server runs as a user would start it (``python -m scripter serve``) with a
fresh data directory, so it uses SQLite, the in-process bus and whatever Docker
engine the machine has; ``/healthz`` answers 503 when Docker is down, which is
still an answer. Teardown stops it with SIGINT, like Ctrl-C, and checks that it
shut down cleanly.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.access import read_token
from tests.child_env import scripter_child_env
from tests.conftest import TEST_BASE_IMAGE, remove_namespace_containers, require_service
from tests.integration.app_fixtures import remove_images

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
UI_DIST = REPO_ROOT / "ui" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthz_answers(base_url: str) -> bool:
    """True once the server answers /healthz at all: 200, or 503 when a check fails."""
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="session")
def scripter_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The (initially empty) data directory of the ``scripter_server`` process."""
    data_dir = tmp_path_factory.mktemp("scripter-server") / "data"
    data_dir.mkdir()
    return data_dir


@pytest.fixture(scope="session")
def scripter_server(scripter_data_dir: Path) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of a ``scripter serve`` process."""
    data_dir = scripter_data_dir
    workdir = data_dir.parent
    stdout_path, stderr_path = workdir / "stdout.log", workdir / "stderr.log"
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"

    # The developer's settings pass (the defaults below give way to them), the test
    # suite's own SCRIPTER_TEST_* knobs do not: the server would refuse to start.
    env = scripter_child_env({"SCRIPTER_DATA_DIRECTORY": str(data_dir)}, inherit_settings=True)
    if (UI_DIST / "index.html").is_file():  # else the server's placeholder page
        env.setdefault("SCRIPTER_SERVER_UI_DIRECTORY", str(UI_DIST))
    # Builds work offline: the default Dockerfile starts from the test base image and
    # builds on the host network (no bridge here, see ENVIRONMENT.md). Its own image
    # prefix lets teardown remove what this server built.
    env.setdefault("SCRIPTER_IMAGES_DEFAULT_BASE_IMAGE", TEST_BASE_IMAGE)
    env.setdefault("SCRIPTER_DOCKER_BUILD_NETWORK", "host")
    image_prefix = env.setdefault("SCRIPTER_DOCKER_IMAGE_PREFIX", f"scripter-e2e-{port}")
    # Run from the temp dir, so a developer's ./config.toml is not picked up.
    command = [
        sys.executable,
        "-m",
        "scripter",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]

    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # a Ctrl-C at the terminal reaches pytest, not the server
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthz_answers(base_url):
            if process.poll() is not None:
                pytest.fail(
                    f"scripter serve exited with {process.returncode} before answering "
                    f"/healthz; stderr:\n{_tail(stderr_path)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"scripter serve did not answer /healthz within {STARTUP_TIMEOUT:.0f} s; "
                    f"stderr:\n{_tail(stderr_path)}"
                )
            time.sleep(0.2)

        yield base_url

        process.send_signal(signal.SIGINT)
        try:
            returncode = process.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(
                f"scripter serve did not stop within {SHUTDOWN_TIMEOUT:.0f} s of SIGINT; "
                f"stderr:\n{_tail(stderr_path)}"
            )
        stderr_text = stderr_path.read_text(errors="replace")
        assert returncode == 0, (
            f"scripter serve exited with {returncode} after SIGINT; stderr:\n{_tail(stderr_path)}"
        )
        assert "Traceback" not in stderr_text, f"scripter serve printed a traceback:\n{stderr_text}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        _remove_docker_objects(image_prefix)


def _remove_docker_objects(image_prefix: str) -> None:
    """Containers and images the server made under its own prefix, if Docker is up."""
    try:
        remove_namespace_containers(image_prefix)
        remove_images(image_prefix)  # by tag: another session's identical image stays
    except Exception:  # no engine, nothing to clean
        return


@pytest.fixture(scope="session")
def access_token(scripter_server: str, scripter_data_dir: Path) -> str:
    """The token ``scripter_server`` made in its data directory on its first start."""
    return read_token(scripter_data_dir)


@pytest.fixture(scope="session")
def api_headers(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


@pytest.fixture
def app_url(request: pytest.FixtureRequest) -> str:
    """The server's base URL, once the UI it serves has been built."""
    require_service(
        "the built UI", (UI_DIST / "index.html").exists(), "cd ui && npm ci && npm run build"
    )
    base_url: str = request.getfixturevalue("scripter_server")
    return base_url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per test module; each test gets its own context.

    Not session-scoped: while Playwright's sync API is open it leaves its own
    event loop marked as running in this thread, and every pytest-asyncio test
    that runs meanwhile fails with "Runner.run() cannot be called from a running
    event loop". Module scope closes it before the next module's async tests.
    """
    require_service("Chromium", CHROMIUM.exists(), "install it: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (no shared cookies or storage), 1280x800,
    not logged in. The test fails if the page breaks the Content-Security-Policy."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        violations = watch_csp(page)
        yield page
        assert violations == [], f"the page broke the Content-Security-Policy: {violations}"
    finally:
        context.close()


@pytest.fixture
def logged_in_page(browser_page: Page, app_url: str, access_token: str) -> Page:
    """``browser_page``, logged in through the link the server prints (``/?token=``)."""
    log_in(browser_page, app_url, access_token)
    return browser_page


def log_in(page: Page, base_url: str, token: str) -> None:
    """Open the login link as a user would; the UI trades the token for its session
    cookie and takes it out of the address."""
    page.goto(f"{base_url}/?token={token}")
    page.get_by_test_id("log-out").wait_for()
    assert "token" not in page.url, page.url


def watch_csp(page: Page) -> list[str]:
    """Collects the page's Content-Security-Policy violations (Chromium reports each
    as a console error)."""
    violations: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    return violations
