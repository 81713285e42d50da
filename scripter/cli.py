"""The command line: one codebase, several roles (see ARCHITECTURE.md section 2)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import signal
import sys
from collections.abc import Sequence

from scripter import __version__
from scripter.adapters.access_token import TokenFile, token_path
from scripter.config import Config, ConfigError, load_config, prepare_data_directory
from scripter.domain.ports import TokenUnavailable

EXIT_CONFIG = 2

_DESCRIPTION = "Run Python scripts in Docker, now or on a cron schedule."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripter", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"scripter {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $SCRIPTER_CONFIG, else ./config.toml if present)",
    )
    network = argparse.ArgumentParser(add_help=False)
    network.add_argument("--host", help="address to listen on (default: server.host)")
    network.add_argument("--port", type=int, help="port to listen on (default: server.port)")

    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "serve",
        parents=[common, network],
        help="API, UI, worker and scheduler in one process (migrates the database first)",
        description="API, UI, worker and scheduler in one process. Migrates the database "
        "to the latest schema first.",
    )
    commands.add_parser(
        "api", parents=[common, network], help="the HTTP API and UI only (for scale-out)"
    )
    commands.add_parser("worker", parents=[common], help="build images and run jobs")
    commands.add_parser("scheduler", parents=[common], help="fire cron schedules")
    commands.add_parser(
        "migrate", parents=[common], help="upgrade the database to the latest schema"
    )
    asyncapi = commands.add_parser(
        "asyncapi", parents=[common], help="print the AsyncAPI document of the domain events"
    )
    asyncapi.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    openapi = commands.add_parser(
        "openapi",
        help="print the OpenAPI document of the HTTP API (no server, nothing connects)",
        description="Print the OpenAPI document of the HTTP API without starting a server "
        "or connecting to anything; the UI's typed client is generated from it.",
    )
    openapi.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    token = commands.add_parser(
        "token",
        help="show or rotate the access token (in the data directory)",
        description="The access token that every endpoint but /healthz asks for. It is "
        "made on the first start of `serve` or `api`, in <data.directory>/auth-token.",
    )
    token_actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = token_actions.add_parser(
        "show",
        parents=[common, network],
        help="print a link that logs the browser in (or, with --raw, the token alone)",
    )
    show.add_argument(
        "--raw", action="store_true", help="print only the token (for Authorization: Bearer)"
    )
    token_actions.add_parser(
        "rotate",
        parents=[common, network],
        help="replace the token: every API client and browser must log in with the new one",
        description="Replace the access token with a new random one. Running servers "
        "that share the data directory take it at their next request; the old token "
        "and every session cookie made from it stop working at once.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "openapi":
        # The document must not depend on a config file or the environment.
        return _write(_openapi_text(), args.output)
    made_token: str | None = None
    try:
        config = load_config(args.config)
        if args.command in ("serve", "api", "worker", "migrate", "scheduler"):
            prepare_data_directory(config)
        if args.command in ("serve", "api") and config.auth.enabled:
            made_token = _ensure_token(config)
    except ConfigError as exc:
        print(f"scripter: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "token":
        return _token(config, args)
    logging.basicConfig(
        level=config.logging.level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    command: str = args.command
    if command in ("serve", "api"):
        _announce_access(config, args, made_token)
        return _serve_http(config, args, all_roles=command == "serve")
    if command in ("worker", "scheduler"):
        return _run_headless(config, command)
    if command == "migrate":
        return _migrate(config)
    return _asyncapi(config, args.output)


def _serve_http(config: Config, args: argparse.Namespace, *, all_roles: bool) -> int:
    import uvicorn

    from scripter.bootstrap import Role, bootstrap
    from scripter.http.app import create_app
    from scripter.http.server import Server

    roles = {Role.API, Role.WORKER, Role.SCHEDULER} if all_roles else {Role.API}
    scripter = bootstrap(config)
    app = create_app(scripter, roles=roles, migrate=all_roles or _database_is_local(config))
    server = Server(
        uvicorn.Config(
            app,
            host=args.host or config.server.host,
            port=args.port or config.server.port,
            log_level=config.logging.level.lower(),
            # Requests in flight get this long to finish; open SSE streams do not
            # hold shutdown hostage meanwhile: Server ends them first (PITFALLS.md).
            timeout_graceful_shutdown=max(1, round(config.server.shutdown_grace_seconds)),
            lifespan="on",
        ),
        on_shutdown=scripter.end_live_streams,
        freeze_gc=True,
    )
    # uvicorn handles SIGINT/SIGTERM itself (graceful shutdown), then restores the
    # previous handlers and raises the signal again: let that end here, quietly.
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    # uvicorn reports a failed start-up (port taken, lifespan error) through .started.
    return 0 if server.started else 1


def _ensure_token(config: Config) -> str | None:
    """Make the access token on the first start; returns it only when this process
    made it (it is printed once, then never again)."""
    store = TokenFile(token_path(config.data_directory))
    try:
        token, made = store.ensure()
    except (TokenUnavailable, OSError) as exc:
        raise ConfigError(f"auth: the access token in {store.path} is not usable: {exc}") from None
    return token if made else None


def _announce_access(config: Config, args: argparse.Namespace, made_token: str | None) -> None:
    host: str = args.host or config.server.host
    url = _public_url(config, args)
    if not config.auth.enabled:
        if not _is_loopback(host):
            logging.getLogger("scripter").warning(
                "auth is off (auth.enabled = false) and the server listens on %s: whoever "
                "reaches it can run anything on this machine's Docker engine",
                host,
            )
        return
    path = token_path(config.data_directory)
    if made_token is not None:
        message = (
            f"\nScripter made its access token and saved it in {path}.\n"
            "Open this link to log in (it is shown only this once; "
            "`scripter token show` prints it again):\n\n"
            f"    {url}/?token={made_token}\n"
        )
    else:
        message = (
            f"Scripter: open {url}/ and log in with the access token in {path} "
            "(`scripter token show` prints a link with it)."
        )
    print(message, file=sys.stderr, flush=True)


def _token(config: Config, args: argparse.Namespace) -> int:
    store = TokenFile(token_path(config.data_directory))
    if args.action == "rotate":
        try:
            store.path.parent.mkdir(parents=True, exist_ok=True)
            token = store.rotate()
        except OSError as exc:
            print(f"scripter: cannot write {store.path}: {exc.strerror}", file=sys.stderr)
            return 1
        print(
            f"new access token saved in {store.path}; the old one and every session made "
            "with it no longer work. Log in again:",
            file=sys.stderr,
        )
    else:
        try:
            token = store.current()
        except TokenUnavailable as exc:
            print(
                f"scripter: no access token ({exc}). It is made on the first start of "
                "`scripter serve` or `scripter api`; `scripter token rotate` makes one now.",
                file=sys.stderr,
            )
            return 1
    if not config.auth.enabled:
        print(
            "note: auth is off (auth.enabled = false): the server asks for no token.",
            file=sys.stderr,
        )
    if getattr(args, "raw", False):
        print(token)
    else:
        print(f"{_public_url(config, args)}/?token={token}")
    return 0


def _public_url(config: Config, args: argparse.Namespace) -> str:
    """Where users open Scripter: ``server.public_url``, else the address it listens
    on (a wildcard address is reachable on this machine as 127.0.0.1)."""
    if config.server.public_url:
        return config.server.public_url.rstrip("/")
    host: str = args.host or config.server.host
    port: int = args.port or config.server.port
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run_headless(config: Config, role_name: str) -> int:
    from scripter.bootstrap import Role, bootstrap

    async def run() -> None:
        scripter = bootstrap(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await scripter.start({Role(role_name)}, migrate=_database_is_local(config))
        try:
            await stop.wait()
        finally:
            logging.getLogger("scripter").info("%s stopping", role_name)
            await scripter.stop()

    asyncio.run(run())
    return 0


def _database_is_local(config: Config) -> bool:
    """SQLite lives in this machine's data directory, so every role brings it to the
    latest schema at start (a fresh data directory works with any command). A shared
    MariaDB is migrated by ``serve`` or ``migrate`` only, not by each api or worker."""
    return config.database_url.startswith("sqlite")


def _migrate(config: Config) -> int:
    from scripter.adapters.db.migrate import upgrade_to_head

    upgrade_to_head(config.database_url)
    print(f"database is at the latest schema: {_redact(config.database_url)}")
    return 0


def _asyncapi(config: Config, output: str | None) -> int:
    from scripter.adapters.bus.asyncapi import asyncapi_document

    return _write(json.dumps(asyncapi_document(config.broker.url or None), indent=2), output)


def _openapi_text() -> str:
    """The HTTP API's OpenAPI document, from an app that is built but never started.

    The defaults with an in-memory SQLite and the in-process bus: constructing them
    opens no connection and creates no file (``bootstrap`` connects nothing before
    ``Scripter.start``, which only the app's lifespan calls)."""
    from scripter.bootstrap import bootstrap
    from scripter.config import DatabaseConfig
    from scripter.http.app import create_app

    config = Config(database=DatabaseConfig(url="sqlite+aiosqlite:///:memory:"))
    app = create_app(bootstrap(config), roles=set())
    return json.dumps(app.openapi_schema.to_schema(), indent=2)


def _write(text: str, output: str | None) -> int:
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        print(text)
    return 0


def _redact(url: str) -> str:
    """Hide a password in a URL before printing it."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split(":", 1)[0]
        rest = f"{user}:***@{rest.split('@', 1)[1]}"
    return f"{scheme}{sep}{rest}"
