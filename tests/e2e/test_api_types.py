"""``scripter openapi`` and the UI's generated API types: they cannot drift apart.

The UI's client is typed by ``ui/src/lib/api-schema.d.ts``, generated from the
OpenAPI document by ``npm run gen:api``. A change to the API that is not followed
by a regeneration fails here, with the command to run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.e2e.test_cli import scripter

REPO_ROOT = Path(__file__).resolve().parents[2]
UI = REPO_ROOT / "ui"
GENERATOR = UI / "scripts" / "gen-api.mjs"
# Unreachable on purpose: the command must read no configuration and connect to nothing.
UNREACHABLE = {
    "SCRIPTER_BROKER_URL": "amqp://guest:guest@127.0.0.1:1/",
    "SCRIPTER_DATABASE_URL": "mysql+asyncmy://nobody@127.0.0.1:1/none",
}


@pytest.fixture(scope="module")
def openapi_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("openapi")
    result = scripter(workdir, "openapi", "--output", "openapi.json", env=UNREACHABLE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert [p.name for p in workdir.iterdir()] == ["openapi.json"], "it made other files"
    return workdir / "openapi.json"


def test_openapi_prints_the_document_without_a_server(tmp_path: Path, openapi_file: Path) -> None:
    result = scripter(tmp_path, "openapi", env=UNREACHABLE)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Scripter API"
    for path in ("/api/images", "/api/scripts", "/api/jobs/{job_id}", "/healthz"):
        assert path in document["paths"], path
    assert "Image" in document["components"]["schemas"]
    assert list(tmp_path.iterdir()) == [], "openapi must create no file (no data directory)"
    # The same document every time, whether printed or written.
    assert json.loads(openapi_file.read_text()) == document


def test_committed_ui_types_match_the_api(openapi_file: Path) -> None:
    node = shutil.which("node")
    require_service("Node.js", node is not None, "install Node.js 20 or later")
    require_service(
        "the UI's node_modules",
        (UI / "node_modules" / "openapi-typescript").is_dir(),
        "cd ui && npm ci",
    )
    assert node is not None
    check = subprocess.run(
        [node, str(GENERATOR), "--check", "--input", str(openapi_file)],
        cwd=UI,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, (
        "ui/src/lib/api-schema.d.ts is stale versus the API: run `cd ui && npm run gen:api` "
        f"and commit the result.\n{check.stdout}{check.stderr}"
    )
