"""The deployment of compose.yml, piece by piece, with what this machine has (no image
registry, so the stack itself cannot be pulled and started here):

- ``.env.example`` documents every setting of compose.yml with compose.yml's own
  defaults, and compose.yml passes Scripter a valid configuration (no config.toml).
- ``docker compose config`` (or docker-compose 1.29) accepts compose.yml without a
  .env and with one, and the file has what the deployment needs: health checks and
  ``depends_on`` conditions, migrations before the api, named volumes, the data
  directory at the same path inside and outside, workers that can be scaled. The
  README's compose.override.yml for a config.toml renders too, and the README names
  exactly the settings that the environment takes over from the file.
- The api's compose health check is a liveness check: it passes while /healthz is
  503 (Docker down), so nginx is not held back by an outage.
- Debian's nginx accepts the nginx template (``nginx -t``) and, in front of a real
  ``scripter api`` on loopback, serves it over HTTPS with the certificate that the
  image's entry point makes, redirects HTTP to HTTPS, and passes a Server-Sent
  Events stream on event by event, not buffered until the end; in front of
  ``scripter serve`` with the real Docker engine, a running job's log stream arrives
  line by line.
- Scripter's image builds from the local test base image (build arguments), adds at
  most ``IMAGE_GROWTH_LIMIT`` to it, runs as a non-root user that reaches the Docker
  socket, serves the API and the built UI, and its ``init`` makes the data folders
  and the certificate. (Its Node.js stage cannot run here: no Node.js image.)
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import docker
import httpx
import pytest
import yaml

from scripter.adapters.access_token import token_path
from scripter.config import CONFIG_ENV, load_config
from scripter.services.job_runner import JOB_LABEL, NAMESPACE_LABEL, SOURCE_MOUNT
from tests.access import TokenFromFile
from tests.conftest import (
    TEST_BASE_IMAGE,
    TEST_LABEL,
    remove_namespace_containers,
    require_service,
)
from tests.e2e.multiprocess import (
    REPO_ROOT,
    Deployment,
    eventually,
    free_port,
    json_of,
    scripter_env,
    tail,
)
from tests.integration.app_fixtures import remove_images, require_docker

COMPOSE_FILE = REPO_ROOT / "compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DOCKERFILE = REPO_ROOT / "Dockerfile"
README = REPO_ROOT / "README.md"
NGINX_TEMPLATE = REPO_ROOT / "nginx" / "scripter.conf.template"
ENTRYPOINT = REPO_ROOT / "deploy" / "entrypoint.sh"
UI_DIST = REPO_ROOT / "ui" / "dist"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ROLES = {"api", "worker", "scheduler", "migrate"}
"""The compose services that run a ``scripter`` command."""


# --- .env.example and compose.yml agree -------------------------------------------


def _example_settings() -> dict[str, str]:
    settings = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


def test_env_example_documents_every_compose_setting_with_its_default():
    used = dict(re.findall(r"\$\{(\w+):-([^}]*)\}", COMPOSE_FILE.read_text()))
    documented = _example_settings()
    documented.pop("COMPOSE_PROJECT_NAME")  # compose's own
    assert documented == used
    # Names that are not SCRIPTER_*: an exported one must not trip Scripter's own
    # check of its variables on the same machine.
    assert not [name for name in used if name.startswith("SCRIPTER_")]


# --- docker compose config ---------------------------------------------------------


def compose_command() -> list[str] | None:
    """``docker compose`` (v2 plugin) if it works, else ``docker-compose`` (v1)."""
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if plugin.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def _rendered_compose(
    folder: Path, env_file: dict[str, str] | None, override: str | None = None
) -> dict[str, Any]:
    """``config`` of a copy of compose.yml in ``folder`` (so that no developer's .env
    in the checkout counts), with ``env_file`` as its .env and ``override`` as its
    compose.override.yml."""
    command = compose_command()
    require_service(
        "docker compose or docker-compose",
        command is not None,
        "apt-get install docker-compose (or the compose plugin)",
    )
    assert command is not None
    shutil.copy(COMPOSE_FILE, folder / "compose.yml")
    shutil.copytree(REPO_ROOT / "nginx", folder / "nginx", dirs_exist_ok=True)
    if env_file is not None:
        (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in env_file.items()))
    files = ["-f", "compose.yml"]
    if override is not None:
        # Named by no -f: compose must find it by itself, as the README says it does.
        (folder / "compose.override.yml").write_text(override)
        files = []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    # Interpolation takes the shell's variables first: none of ours may leak in.
    for name in _example_settings():
        env.pop(name, None)
    done = subprocess.run(
        [*command, *files, "config"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rendered: dict[str, Any] = yaml.safe_load(done.stdout)
    return rendered


def _mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume, from v1's strings or v2's mappings."""
    found = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        found.append((source, target))
    return found


def _check_stack(config: dict[str, Any], settings: dict[str, str]) -> None:
    services = config["services"]
    assert set(services) == {"nginx", "mariadb", "rabbitmq", "init", *ROLES}
    for name in ("mariadb", "rabbitmq", "api"):
        assert services[name]["healthcheck"]["test"], name
    conditions = {
        name: {dep: spec["condition"] for dep, spec in (service.get("depends_on") or {}).items()}
        for name, service in services.items()
    }
    for name in ("api", "worker", "scheduler"):
        assert conditions[name] == {
            "init": "service_completed_successfully",
            "mariadb": "service_healthy",
            "rabbitmq": "service_healthy",
            "migrate": "service_completed_successfully",
        }, name
    assert conditions["migrate"] == {
        "init": "service_completed_successfully",
        "mariadb": "service_healthy",
    }
    assert conditions["nginx"] == {
        "init": "service_completed_successfully",
        "api": "service_healthy",
    }
    # Scalable: `--scale worker=N` needs no fixed name and no published port.
    assert "container_name" not in services["worker"]
    assert "ports" not in services["worker"]
    assert {"mariadb", "rabbitmq"} <= set(config["volumes"])
    assert ("mariadb", "/var/lib/mysql") in _mounts(services["mariadb"])
    assert ("rabbitmq", "/var/lib/rabbitmq") in _mounts(services["rabbitmq"])

    data = settings["DATA_DIR"]
    for name in (*ROLES, "init"):
        # The data directory at the same path inside and outside.
        assert (data, data) in _mounts(services[name]), name
        assert services[name]["environment"]["SCRIPTER_DATA_DIRECTORY"] == data
    for name in ("api", "worker"):
        assert (settings["DOCKER_SOCKET"], "/var/run/docker.sock") in _mounts(services[name])
    assert services["init"]["command"] == ["init"]
    # The certificate that init makes is the one nginx serves.
    init_certs = dict((t, s) for s, t in _mounts(services["init"]))["/certs"]
    nginx_certs = dict((t, s) for s, t in _mounts(services["nginx"]))["/etc/nginx/certs"]
    assert init_certs == nginx_certs

    # No config.toml: what compose passes is a whole, valid configuration.
    env = services["api"]["environment"]
    scripter_settings = {
        k: str(v) for k, v in env.items() if k.startswith("SCRIPTER_") and k != CONFIG_ENV
    }
    config_seen = load_config(env=scripter_settings)
    assert config_seen.database.url == (
        f"mysql+asyncmy://{settings['DB_USER']}:{settings['DB_PASSWORD']}"
        f"@mariadb:3306/{settings['DB_NAME']}?charset=utf8mb4"
    )
    assert config_seen.broker.url == (
        f"amqp://{settings['RABBITMQ_USER']}:{settings['RABBITMQ_PASSWORD']}@rabbitmq:5672/"
    )
    # Auth on, and the printed login link names the address users open (nginx).
    assert config_seen.auth.enabled
    assert (
        config_seen.server.public_url
        == f"https://{settings['CERT_HOSTNAME']}:{settings['HTTPS_PORT']}"
    )
    mariadb_env = services["mariadb"]["environment"]
    assert (mariadb_env["MARIADB_USER"], mariadb_env["MARIADB_PASSWORD"]) == (
        settings["DB_USER"],
        settings["DB_PASSWORD"],
    )


@pytest.mark.compose
def test_compose_config_accepts_the_stack_without_an_env_file(tmp_path: Path):
    _check_stack(_rendered_compose(tmp_path, None), _example_settings())


@pytest.mark.compose
def test_compose_config_takes_the_settings_of_an_env_file(tmp_path: Path):
    settings = {
        **_example_settings(),
        "DB_USER": "owner",
        "DB_PASSWORD": "s3cret",
        "RABBITMQ_PASSWORD": "rabbit-pw",
        "DATA_DIR": "/opt/scripter-data",
        "HTTPS_PORT": "8443",
    }
    config = _rendered_compose(tmp_path, settings)
    _check_stack(config, settings)
    nginx = config["services"]["nginx"]
    assert nginx["environment"]["SCRIPTER_HTTPS_PORT"] in ("8443", 8443)
    published = [str(p if isinstance(p, str) else p.get("published")) for p in nginx["ports"]]
    assert any("8443" in port for port in published), published


def _image_settings() -> dict[str, str]:
    """The ``SCRIPTER_*`` variables that Scripter's image sets (the Dockerfile's ENV)."""
    return dict(re.findall(r"^\s*(SCRIPTER_\w+)=(\S+)", DOCKERFILE.read_text(), re.MULTILINE))


def _setting(variable: str) -> str:
    """``SCRIPTER_SERVER_PUBLIC_URL`` -> ``server.public_url`` (sections have no ``_``)."""
    section, _, key = variable.removeprefix("SCRIPTER_").lower().partition("_")
    return f"{section}.{key}"


def _readme_config_toml_recipe() -> tuple[str, set[str]]:
    """The README's compose.override.yml for a config.toml, and the settings that the
    text after it says the environment sets whatever the file says."""
    readme = README.read_text()
    start = readme.index("The `config.toml` way still works")
    recipe = readme[start : readme.index("**Certificate.**", start)]
    override = recipe.split("```yaml\n", 1)[1].split("```", 1)[0]
    after = recipe.split("```", 2)[2]
    named = after[after.index("whatever the file says") :].split("Change those", 1)[0]
    return override, set(re.findall(r"`([a-z]+\.[a-z_]+)`", named))


@pytest.mark.compose
def test_compose_takes_a_config_toml_as_the_readme_says(tmp_path: Path):
    """The README's recipe (a compose.override.yml that mounts config.toml and sets
    SCRIPTER_CONFIG) renders with compose, leaves the rest of the stack as it was, and
    the README names exactly the settings that the environment of compose.yml and of
    the image takes over from the file."""
    override, named = _readme_config_toml_recipe()
    plain = _rendered_compose(tmp_path, None)["services"]
    compose_settings = {
        name: str(value)
        for role in ROLES
        for name, value in plain[role]["environment"].items()
        if name.startswith("SCRIPTER_")
    }
    overridden = {_setting(name) for name in {**_image_settings(), **compose_settings}}
    assert named == overridden

    # The file sets every one of those (valid values, none what compose sets), and
    # one more. Per service: a variable it has wins, the file gives all the rest.
    ui_of_image, ui_of_file = tmp_path / "image-ui", tmp_path / "file-ui"
    for ui in (ui_of_image, ui_of_file):  # stand-ins for a built UI, which is checked
        ui.mkdir()
        (ui / "index.html").write_text("<!doctype html>")
    in_file = {
        "database.url": "sqlite+aiosqlite:////var/lib/scripter/from-the-file.db",
        "broker.url": "amqp://file:file@from-the-file:5672/",
        "data.directory": "/from-the-file/data",
        "logging.level": "ERROR",
        "server.public_url": "https://from-the-file.example",
        "server.host": "127.0.0.2",
        "server.ui_directory": str(ui_of_file),
    }
    assert set(in_file) == overridden, "give the file a value for each overridden setting"
    sections: dict[str, list[str]] = {"worker": ["concurrency = 7"]}
    for setting, value in in_file.items():
        section, key = setting.split(".")
        sections.setdefault(section, []).append(f"{key} = {json.dumps(value)}")
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        "".join(
            f"[{name}]\n" + "".join(f"{line}\n" for line in lines)
            for name, lines in sections.items()
        )
    )
    config = _rendered_compose(tmp_path, None, override)
    _check_stack(config, _example_settings())
    for role in ROLES:
        service = config["services"][role]
        env = {name: str(value) for name, value in service["environment"].items()}
        mounted = dict((target.split(":")[0], source) for source, target in _mounts(service))
        assert Path(mounted[env[CONFIG_ENV]]) == config_file, role
        # What the process sees: the image's variables under compose's, and the file
        # (here at its path on this side of the mount).
        seen = {
            **_image_settings(),
            "SCRIPTER_SERVER_UI_DIRECTORY": str(ui_of_image),
            **{name: value for name, value in env.items() if name.startswith("SCRIPTER_")},
            CONFIG_ENV: str(config_file),
        }
        loaded = load_config(env=seen)
        assert loaded.worker.concurrency == 7, role
        from_env = {_setting(name): value for name, value in seen.items() if name != CONFIG_ENV}
        for setting, file_value in in_file.items():
            section, key = setting.split(".")
            expected = from_env.get(setting, file_value)
            assert str(getattr(getattr(loaded, section), key)) == expected, (role, setting)


@pytest.mark.compose
async def test_the_api_health_check_is_liveness_only(tmp_path: Path):
    """compose.yml's health check of ``api``, run against a real ``scripter api``
    whose Docker engine is unreachable: /healthz says 503, the check passes (the
    process serves, so nginx may start and show the UI); once the api is gone, it
    fails."""
    (tmp_path / "compose").mkdir()
    rendered = _rendered_compose(tmp_path / "compose", None)
    kind, program, *args = rendered["services"]["api"]["healthcheck"]["test"]
    assert (kind, program) == ("CMD", "python")
    data = tmp_path / "data"
    data.mkdir()
    deployment = Deployment(
        workdir=tmp_path,
        env=scripter_env(data, {"SCRIPTER_DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}),
    )
    port = free_port()
    address = "127.0.0.1:8000"  # where compose's check looks, inside the api container
    assert any(address in arg for arg in args), args
    check = [sys.executable, *(arg.replace(address, f"127.0.0.1:{port}") for arg in args)]

    async def run_check() -> int:
        done = await asyncio.to_thread(subprocess.run, check, capture_output=True, timeout=30)
        return done.returncode

    try:
        api = await deployment.api(port, accept=(503,))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
        assert health.status_code == 503
        checks = health.json()["checks"]
        assert (checks["db"]["status"], checks["docker"]["status"]) == ("ok", "error"), checks
        assert await run_check() == 0
        await deployment.stop(api)
        assert await run_check() != 0
    finally:
        await deployment.kill_all()


# --- nginx --------------------------------------------------------------------------


def require_nginx() -> str:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    require_service("nginx", nginx is not None, "apt-get install nginx")
    require_service("openssl", shutil.which("openssl") is not None, "apt-get install openssl")
    assert nginx is not None
    return nginx


def make_certificate(cert_dir: Path, hostname: str = "127.0.0.1") -> None:
    """The image's own way: ``scripter-entrypoint init`` (it also prepares a data
    directory, here a throwaway one)."""
    done = subprocess.run(
        ["sh", str(ENTRYPOINT), "init"],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "CERT_DIR": str(cert_dir),
            "CERT_HOSTNAME": hostname,
            "SCRIPTER_DATA_DIRECTORY": str(cert_dir.parent / "init-data"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def render_nginx(prefix: Path, *, upstream_port: int, http_port: int, https_port: int) -> Path:
    """The template as compose renders it, with loopback ports and a throwaway
    certificate, inside a minimal nginx.conf; returns the nginx.conf."""
    for folder in ("certs", "tmp", "logs"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    site = NGINX_TEMPLATE.read_text()
    for name, value in {
        "SCRIPTER_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "SCRIPTER_RESOLVER": "127.0.0.1",
        "SCRIPTER_HTTPS_PORT": str(https_port),
    }.items():
        assert "${" + name + "}" in site, name
        site = site.replace("${" + name + "}", value)
    assert "${" not in site, "a template variable that compose.yml does not set"
    site, plain = re.subn(r"listen 80;", f"listen 127.0.0.1:{http_port};", site)
    site, tls = re.subn(r"listen 443 ", f"listen 127.0.0.1:{https_port} ", site)
    site = site.replace("/etc/nginx/certs/", f"{prefix}/certs/")
    assert (plain, tls) == (1, 1)
    (prefix / "scripter.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers read the temp folders
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\n"
        f"pid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/logs/error.log info;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    access_log {prefix}/logs/access.log;\n"
        f"    client_body_temp_path {prefix}/tmp/body;\n"
        f"    proxy_temp_path {prefix}/tmp/proxy;\n"
        f"    fastcgi_temp_path {prefix}/tmp/fastcgi;\n"
        f"    uwsgi_temp_path {prefix}/tmp/uwsgi;\n"
        f"    scgi_temp_path {prefix}/tmp/scgi;\n"
        f"    include {prefix}/scripter.conf;\n"
        "}\n"
    )
    return conf


def nginx_args(nginx: str, conf: Path) -> list[str]:
    prefix = conf.parent
    return [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "logs" / "error.log")]


@pytest.mark.nginx
def test_nginx_accepts_the_config(tmp_path: Path):
    nginx = require_nginx()
    make_certificate(tmp_path / "certs")
    conf = render_nginx(tmp_path, upstream_port=8000, http_port=18080, https_port=18443)
    done = subprocess.run(
        [*nginx_args(nginx, conf), "-t"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_the_entrypoint_keeps_an_existing_certificate(tmp_path: Path):
    require_service("openssl", shutil.which("openssl") is not None, "apt-get install openssl")
    certs = tmp_path / "certs"
    make_certificate(certs, "scripter.example")
    first = (certs / "scripter.crt").read_bytes()
    assert ((certs / "scripter.key").stat().st_mode & 0o777) == 0o600
    text = subprocess.run(
        ["openssl", "x509", "-in", str(certs / "scripter.crt"), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:scripter.example" in text and "IP Address:127.0.0.1" in text
    make_certificate(certs, "other.example")
    assert (certs / "scripter.crt").read_bytes() == first
    assert (tmp_path / "init-data" / "images").is_dir()
    assert (tmp_path / "init-data" / "scripts").is_dir()


@contextlib.asynccontextmanager
async def nginx_in_front_of(prefix: Path, api_port: int) -> AsyncIterator[tuple[str, str, Path]]:
    """Debian's nginx with the template, on loopback, in front of a Scripter on
    127.0.0.1:``api_port``: (https URL, http URL, the certificate it serves)."""
    nginx = require_nginx()
    http_port, https_port = free_port(), free_port()
    make_certificate(prefix / "certs")
    conf = render_nginx(prefix, upstream_port=api_port, http_port=http_port, https_port=https_port)
    proxy = await asyncio.create_subprocess_exec(
        *nginx_args(nginx, conf), "-g", "daemon off;", start_new_session=True
    )
    try:

        async def listening() -> bool | None:
            if proxy.returncode is not None:
                pytest.fail(f"nginx exited:\n{tail(prefix / 'logs' / 'error.log')}")
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", https_port)
            except OSError:
                return None
            writer.close()
            return True

        await eventually(listening, "nginx listening", 15.0)
        yield (
            f"https://127.0.0.1:{https_port}",
            f"http://127.0.0.1:{http_port}",
            prefix / "certs" / "scripter.crt",
        )
    finally:
        if proxy.returncode is None:
            proxy.send_signal(signal.SIGQUIT)  # graceful stop
            try:
                await asyncio.wait_for(proxy.wait(), 10)
            except TimeoutError:
                proxy.kill()
                await proxy.wait()


@pytest.fixture
async def proxied_api(tmp_path: Path) -> AsyncIterator[tuple[str, str, Path, Path]]:
    """``scripter api`` (SQLite, in-process bus) behind Debian's nginx on loopback:
    (https URL, http URL, the certificate, the data directory)."""
    require_nginx()
    data = tmp_path / "data"
    data.mkdir()
    deployment = Deployment(
        workdir=tmp_path,
        env=scripter_env(data, {"SCRIPTER_SERVER_UI_DIRECTORY": str(UI_DIST)}),
    )
    api_port = free_port()
    try:
        api = await deployment.api(api_port, accept=(200, 503))  # 503: no Docker engine here
        async with nginx_in_front_of(tmp_path / "nginx", api_port) as (https, http, certificate):
            yield https, http, certificate, data
        await deployment.stop(api)
    finally:
        await deployment.kill_all()


@pytest.mark.nginx
async def test_nginx_serves_scripter_over_https_and_streams_events(
    proxied_api: tuple[str, str, Path, Path],
):
    https, http, certificate, data = proxied_api
    # The certificate the entry point made is valid for 127.0.0.1: verify against it.
    tls = ssl.create_default_context(cafile=str(certificate))
    async with httpx.AsyncClient(
        base_url=https, verify=tls, timeout=10, auth=TokenFromFile(data)
    ) as client:
        health = await client.get("/healthz")
        assert health.status_code in (200, 503)
        assert health.json()["checks"]["db"]["status"] == "ok"
        page = await client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")

        # Plain HTTP: a redirect to the same path over HTTPS.
        async with httpx.AsyncClient(timeout=10) as plain:
            moved = await plain.get(f"{http}/api/images?limit=5")
        assert moved.status_code == 301
        assert moved.headers["location"] == f"{https}/api/images?limit=5"
        followed = await client.get(moved.headers["location"])
        assert followed.status_code == 200
        assert followed.headers["x-frame-options"] == "DENY"

        # Through the proxy the app knows the client used HTTPS (X-Forwarded-Proto from
        # nginx on loopback, which uvicorn trusts): the session cookie is Secure.
        async with httpx.AsyncClient(base_url=https, verify=tls, timeout=10) as browser:
            assert (await browser.get("/api/images")).status_code == 401
            token = token_path(data).read_text().strip()
            login = await browser.post("/api/session", json={"token": token})
            assert login.status_code == 204, login.text
            cookie = login.headers["set-cookie"].lower()
            assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
            assert (await browser.get("/api/images")).status_code == 200

        # Live events: each arrives through the proxy while the stream stays open.
        async with client.stream("GET", "/api/events/stream") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()

            async def next_line() -> str:
                return await asyncio.wait_for(anext(lines), 10)

            assert await next_line() == "retry: 2000"
            for n in range(3):
                created = json_of(
                    await client.post(
                        "/api/images",
                        json={"name": f"proxied-{n}", "dockerfile": f"FROM {TEST_BASE_IMAGE}\n"},
                    ),
                    201,
                )
                # This event must arrive before the next image is even created.
                block: list[str] = []
                while f'"image_id":{created["id"]}' not in "".join(block):
                    line = await next_line()
                    block = [] if line == "" else [*block, line]
                assert block[0] == "event: image.created", block


TICKS = 3
TICKER = f"""\
import os, sys, time
for n in range(1, {TICKS + 1}):
    print(f"line {{n}}", flush=True)
    # The next line waits until the test has seen this one and creates go-<n>
    # (bounded, so that a failed test leaves no job behind for long).
    deadline = time.monotonic() + 120
    while not os.path.exists(f"go-{{n}}"):
        if time.monotonic() > deadline:
            sys.exit(f"go-{{n}} never came")
        time.sleep(0.05)
print("done", flush=True)
"""
"""A job that prints a line, then waits for the test's go-ahead (a file in its source
folder, which the job's container mounts) before it prints the next one."""


@dataclass
class SseEvent:
    event: str
    data: str


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[SseEvent]:
    """The events of a Server-Sent Events stream; comments (pings) and ``retry:``-only
    blocks are skipped."""
    event, data = "message", list[str]()
    async for line in lines:
        if line == "":
            if data:
                yield SseEvent(event, "\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data.append(line.partition(":")[2].removeprefix(" "))


def job_source_folder(namespace: str, job_id: int) -> Path:
    """The host folder that the job's container mounts as its source (the data
    directory is at the same path for the test, the server and the engine)."""
    client = docker.from_env()
    [container] = client.containers.list(
        all=True, filters={"label": [f"{NAMESPACE_LABEL}={namespace}", f"{JOB_LABEL}={job_id}"]}
    )
    [source] = [m["Source"] for m in container.attrs["Mounts"] if m["Destination"] == SOURCE_MOUNT]
    return Path(source)


@pytest.mark.nginx
@pytest.mark.docker
async def test_a_job_log_streams_through_nginx_line_by_line(tmp_path: Path):
    """``scripter serve`` (SQLite, in-process bus, the real Docker engine) behind the
    nginx config, over HTTPS: each line of a running job's log arrives through the
    proxy at /api/jobs/{id}/log/stream while the job waits for the test, before it
    prints the next. Proved by causality, not by time: the job prints line n+1 only
    once the test, having received line n, lets it; a proxy that buffered the stream
    would leave both waiting (and the test failing at its bound)."""
    require_nginx()
    require_docker()
    namespace = f"scripter-test-{uuid.uuid4().hex[:12]}"
    data = tmp_path / "data"
    data.mkdir()
    deployment = Deployment(
        workdir=tmp_path,
        env=scripter_env(
            data,
            {
                "SCRIPTER_DOCKER_IMAGE_PREFIX": namespace,  # also labels the job containers
                "SCRIPTER_DOCKER_BUILD_NETWORK": "host",  # no docker0 bridge on test machines
                "SCRIPTER_IMAGES_DEFAULT_BASE_IMAGE": TEST_BASE_IMAGE,
            },
        ),
    )
    port = free_port()
    try:
        serve = await deployment.spawn("serve", "serve", "--host", "127.0.0.1", "--port", str(port))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as direct:

            async def healthy() -> bool | None:
                Deployment.check_alive(serve)
                try:
                    health = await direct.get("/healthz")
                except httpx.TransportError:
                    return None
                return True if health.status_code == 200 else None

            await eventually(healthy, "serve /healthz 200", 60.0, on_timeout=tail(serve.stderr))

        async with (
            nginx_in_front_of(tmp_path / "nginx", port) as (https, _http, certificate),
            httpx.AsyncClient(
                base_url=https,
                verify=ssl.create_default_context(cafile=str(certificate)),
                timeout=30,
                auth=TokenFromFile(data),
            ) as client,
        ):
            image = json_of(
                await client.post(
                    "/api/images",
                    json={"name": "proxied", "dockerfile": f"FROM {TEST_BASE_IMAGE}\n"},
                ),
                201,
            )
            json_of(await client.post(f"/api/images/{image['id']}/build"), 202)

            async def built() -> bool | None:
                current = json_of(await client.get(f"/api/images/{image['id']}"), 200)
                assert current["status"] != "failed", current["error"]
                return True if current["status"] == "built" else None

            await eventually(built, "the image to build", 120.0, on_timeout=tail(serve.stderr))
            script = json_of(
                await client.post(
                    "/api/scripts",
                    json={
                        "name": "ticker",
                        "image_id": image["id"],
                        "files": [{"path": "main.py", "content": TICKER}],
                    },
                ),
                201,
            )
            job = json_of(await client.post(f"/api/scripts/{script['id']}/runs"), 202)

            async with client.stream("GET", f"/api/jobs/{job['id']}/log/stream") as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                events = sse_events(stream.aiter_lines())

                async def next_event() -> SseEvent:
                    # A bound, not a timing claim: a buffered stream never delivers.
                    return await asyncio.wait_for(anext(events), 60)

                received = ""
                for n in range(1, TICKS + 1):
                    while f"line {n}\n" not in received:
                        event = await next_event()
                        assert event.event == "message", event
                        received += json.loads(event.data)
                    # Line n came through nginx while the job still waits for go-n.
                    assert f"line {n + 1}" not in received, received
                    source = job_source_folder(namespace, job["id"])
                    (source / f"go-{n}").touch()
                while (event := await next_event()).event == "message":
                    received += json.loads(event.data)
                assert event.event == "end", event
                outcome = json.loads(event.data)
                assert (outcome["status"], outcome["exit_code"]) == ("succeeded", 0), outcome

            expected = "".join(f"line {n}\n" for n in range(1, TICKS + 1)) + "done\n"
            assert received == expected
            whole = await client.get(f"/api/jobs/{job['id']}/log")
            assert whole.status_code == 200 and whole.text == expected
        await deployment.stop(serve)
    finally:
        await deployment.kill_all()
        await asyncio.to_thread(remove_namespace_containers, namespace)
        await asyncio.to_thread(remove_images, namespace)


# --- Scripter's own image ------------------------------------------------------------


IMAGE_GROWTH_LIMIT = 170_000_000
"""Bytes that Scripter's image may add to its base image (measured: 130 MB)."""


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    ui_index: str
    """The UI's index.html as the build context had it (others may rebuild ui/dist
    in this checkout meanwhile)."""


def build_context(extra_ca: bytes | None) -> tuple[IO[bytes], str]:
    """The build context as ``docker build .`` sends it (.dockerignore applied), plus
    this machine's CA bundle in deploy/ca-certificates/ when given: registry traffic
    goes through a TLS-intercepting proxy here, as behind a corporate proxy. Also
    returns the context's ui/dist/index.html."""
    from docker.utils.build import exclude_paths

    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    buffer = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(exclude_paths(str(REPO_ROOT), patterns, dockerfile="Dockerfile")):
            tar.add(REPO_ROOT / path, arcname=path, recursive=False)
        if extra_ca is not None:
            info = tarfile.TarInfo("deploy/ca-certificates/build-machine.crt")
            info.size = len(extra_ca)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(extra_ca))
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r") as tar:
        index = tar.extractfile("ui/dist/index.html")
        assert index is not None
        ui_index = index.read().decode()
    buffer.seek(0)
    return buffer, ui_index


@pytest.fixture
def scripter_image() -> Iterator[BuiltImage]:
    """Scripter's image, built once from the test base image; removed afterwards."""
    require_docker()
    require_service(
        "the built UI", (UI_DIST / "index.html").exists(), "cd ui && npm ci && npm run build"
    )
    client = docker.from_env()
    tag = f"scripter-test-image:{uuid.uuid4().hex[:12]}"
    context, ui_index = build_context(
        HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.exists() else None
    )
    # The classic builder leaves each earlier stage behind as an untagged image.
    dangling_before = {image.id for image in client.images.list(filters={"dangling": True})}
    try:
        client.images.build(
            fileobj=context,
            custom_context=True,
            tag=tag,
            labels={TEST_LABEL: "1"},
            buildargs={
                "PYTHON_IMAGE": TEST_BASE_IMAGE,
                # The classic builder runs every stage: no Node.js image is needed with
                # UI_FROM=context, but the stage still starts from some local image.
                "NODE_IMAGE": TEST_BASE_IMAGE,
                "UI_FROM": "context",
            },
            network_mode="host",  # no docker0 bridge on test machines
            rm=True,
            forcerm=True,
        )
    except docker.errors.BuildError as exc:
        log = "".join(str(item.get("stream", item.get("error", ""))) for item in exc.build_log)
        pytest.fail(f"the image did not build: {exc}\n{log[-5000:]}")
    finally:
        context.close()
    try:
        yield BuiltImage(tag, ui_index)
    finally:
        for container in client.containers.list(all=True, filters={"label": f"{TEST_LABEL}=1"}):
            if container.image and tag in container.image.tags:
                container.remove(force=True)
        client.images.remove(tag, force=True)
        for image in client.images.list(filters={"dangling": True}):
            if image.id and image.id not in dangling_before:  # this build's stages
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(image.id)  # not forced: one in use stays


def _run(client: docker.DockerClient, image: str, command: list[str], **options: Any) -> str:
    output = client.containers.run(
        image, command, remove=True, network_mode="none", labels={TEST_LABEL: "1"}, **options
    )
    return output.decode() if isinstance(output, bytes) else str(output)


@pytest.mark.docker
def test_scripter_image_builds_from_the_test_base_and_runs(
    scripter_image: BuiltImage, tmp_path: Path
):
    """The image builds from the local test base image and is small: what it adds to
    its base (the engine's uncompressed ``Size`` of the image minus that of
    PYTHON_IMAGE, i.e. the venv, the UI, the entry point and the user) stays under
    ``IMAGE_GROWTH_LIMIT``. Measured here: 130 MB (the venv 127 MB, the UI 3 MB); the
    bound leaves room for dependency updates, and fails on a pip cache, setuptools,
    build tools or node_modules left in.

    The Node.js stage (UI_FROM=build: ``npm ci && npm run build`` in NODE_IMAGE) is not
    exercised here: no container registry is reachable to pull a Node.js image, and the
    test base image has no Node.js. The build takes the UI built on the host
    (UI_FROM=context); the Node stage is covered only by the Dockerfile's review."""
    client = docker.from_env()
    image = client.images.get(scripter_image.tag)
    assert image.labels[TEST_LABEL] == "1"
    assert image.attrs["Config"]["Entrypoint"][-1] == "/usr/local/bin/scripter-entrypoint"
    added = image.attrs["Size"] - client.images.get(TEST_BASE_IMAGE).attrs["Size"]
    assert 0 < added <= IMAGE_GROWTH_LIMIT, f"the image adds {added / 1e6:.0f} MB to its base"

    # `scripter --help`, as the non-root user, which reaches the Docker socket through
    # the socket's group (whatever its number): the entry point looks it up.
    socket_path = "/var/run/docker.sock"
    require_service("the Docker socket", Path(socket_path).is_socket(), socket_path)
    probe = (
        "scripter --help && id -u && "
        "python -c 'import docker; print(docker.from_env().ping())' && "
        "test ! -e /tmp/ca-bundle.pem && ! python -m pip --version 2>/dev/null"
    )
    output = _run(
        client,
        scripter_image.tag,
        ["sh", "-c", probe],
        volumes={socket_path: {"bind": "/var/run/docker.sock", "mode": "rw"}},
    )
    assert "usage: scripter" in output
    assert output.strip().splitlines()[-2:] == ["10001", "True"], output

    # `init` (compose's one-shot service, as root): data folders for scripter, and a
    # self-signed certificate.
    data, certs = tmp_path / "data", tmp_path / "certs"
    _run(
        client,
        scripter_image.tag,
        ["init"],
        environment={"SCRIPTER_DATA_DIRECTORY": "/data", "CERT_DIR": "/certs"},
        volumes={str(data): {"bind": "/data"}, str(certs): {"bind": "/certs"}},
        user="0",
    )
    assert (certs / "scripter.crt").stat().st_size > 0
    assert (certs / "scripter.key").stat().st_size > 0
    for folder in (data, data / "images", data / "scripts"):
        assert folder.stat().st_uid == 10001, folder

    # `scripter serve` in the image: the API answers, with the UI that was built in.
    port = free_port()
    container = client.containers.run(
        scripter_image.tag,
        ["scripter", "serve", "--port", str(port)],
        detach=True,
        network_mode="host",
        labels={TEST_LABEL: "1"},
        environment={"SCRIPTER_DATA_DIRECTORY": "/data"},
        volumes={
            str(data): {"bind": "/data"},
            socket_path: {"bind": "/var/run/docker.sock", "mode": "rw"},
        },
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                container.reload()
                if container.status == "exited" or time.monotonic() > deadline:
                    logs = container.logs().decode(errors="replace")
                    pytest.fail(f"scripter serve in the image did not answer:\n{logs}")
                time.sleep(0.3)
        checks = {name: check["status"] for name, check in health.json()["checks"].items()}
        assert checks == {"db": "ok", "broker": "ok", "docker": "ok"}, health.text
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.text == scripter_image.ui_index

        # The access token: made by the app's user in the data directory, owner-only,
        # and printed in the log with a link.
        token_file = token_path(data)
        stat = token_file.stat()
        assert (stat.st_uid, stat.st_mode & 0o777) == (10001, 0o600)
        token = token_file.read_text().strip()
        printed = container.logs()
        assert isinstance(printed, bytes) and f"/?token={token}".encode() in printed
        api = f"http://127.0.0.1:{port}/api/images"
        assert httpx.get(api, timeout=5).status_code == 401
        # As the README says: `docker compose exec api scripter token show|rotate`,
        # which run as root; the rotated file stays the app's.
        shown = container.exec_run(["scripter", "token", "show", "--raw"])
        assert shown.exit_code == 0 and isinstance(shown.output, bytes), shown.output
        assert shown.output.decode().strip() == token
        rotated = container.exec_run(["scripter", "token", "rotate"], demux=True)
        assert rotated.exit_code == 0, rotated.output
        new = token_file.read_text().strip()
        assert new != token and token_file.stat().st_uid == 10001
        assert httpx.get(api, headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert httpx.get(api, headers={"Authorization": f"Bearer {new}"}).status_code == 200
        container.stop(timeout=15)
        assert container.wait(timeout=15)["StatusCode"] == 0, container.logs()
        assert b"Traceback" not in container.logs()
    finally:
        container.remove(force=True)
