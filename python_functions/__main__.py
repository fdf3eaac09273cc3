"""Command line: `python -m python_functions <command>` (run, serve, local-api, types, stop,
reset, migrate, rpc, token)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

import psycopg

from python_functions import PROJECT_ROOT
from python_functions.db import rpc
from python_functions.local import lifeline, migrations, stack
from python_functions.local.api.jwt_keys import ProjectKeys
from python_functions.service.auth import InvalidToken, user_claims, verify_token
from python_functions.service.settings import get_settings


def _parse_arg(item: str) -> tuple[str, Any]:
    """httpie-style arguments: `key=text` is a string, `key:=json` a raw JSON value."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise SystemExit(f"expected key=value or key:=json, got {item!r}")
    if key.endswith(":"):
        try:
            return key[:-1], json.loads(value)
        except ValueError as exc:
            raise SystemExit(f"{key[:-1]}:= takes JSON, and {value!r} is not JSON ({exc});"
                             f" quote it for the shell, e.g. {key}'[1,2]'") from None
    return key, value


def _claims_for_email(conn: psycopg.Connection[Any], email: str) -> dict[str, Any]:
    row = conn.execute("select id::text from auth.users where email = %s", (email,)).fetchone()
    if row is None:
        raise SystemExit(f"no user with email {email!r} in auth.users")
    return user_claims(row[0], email)


def _quiet_on_closed_pipe() -> None:
    """`... | head` ends a printing command quietly, as for any Unix tool. Only for the
    printing commands: a server must keep Python's default (EPIPE as an exception)."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def cmd_rpc(args: argparse.Namespace) -> int:
    _quiet_on_closed_pipe()
    settings = stack.cli_settings()
    schema, _, function = args.function.partition(".")
    if not function:
        raise SystemExit("name the function as SCHEMA.FUNCTION, e.g. pullups.list_sessions")
    params = dict(_parse_arg(item) for item in args.params)
    with psycopg.connect(settings.db_url, autocommit=True, connect_timeout=5) as conn:
        claims: dict[str, Any] | None = None
        if args.token:
            try:
                keys = ProjectKeys.of_project(settings.supabase_jwt_secret)
                claims = verify_token(args.token, settings.supabase_jwt_secret,
                                      keys.jwks_client())
            except InvalidToken:
                print("HTTP/1.1 401 Unauthorized\n")
                print(json.dumps({"code": "UNAUTHORIZED", "message": "Invalid or expired JWT",
                                  "details": None, "hint": None}, indent=2))
                return 1
        elif args.as_email:
            claims = _claims_for_email(conn, args.as_email)
        response = rpc.call(conn, schema, function, params, claims,
                            method="GET" if args.get else "POST")
    print(f"HTTP/1.1 {response.status} {rpc.status_text(response.status)}")
    for key, value in response.headers.items():
        print(f"{key}: {value}")
    print()
    if response.body is not None:
        print(json.dumps(response.body, indent=2, ensure_ascii=False))
    return 0 if response.ok else 1


def cmd_token(args: argparse.Namespace) -> int:
    _quiet_on_closed_pipe()
    settings = stack.cli_settings()
    with psycopg.connect(settings.db_url, connect_timeout=5) as conn:
        claims = _claims_for_email(conn, args.email)
    claims = user_claims(claims["sub"], args.email, ttl_seconds=args.ttl)
    print(ProjectKeys.of_project(settings.supabase_jwt_secret).sign(claims))
    return 0


def cmd_run(_args: argparse.Namespace) -> int:
    return stack.run(get_settings())


def cmd_serve(_args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from python_functions.service import logs, server
    from python_functions.service.app import create_app

    settings = get_settings()
    logs.configure()
    lifeline.watch()
    if settings.workers == 1:
        uvicorn.Server(server.config(create_app(settings), settings.host, settings.port,
                                     settings.header_read_timeout_seconds,
                                     settings.keep_alive_seconds)).run()
        return 0
    # several processes on one socket: each builds its app from the environment
    config = server.config("python_functions.service.app:app_from_environment", settings.host,
                           settings.port, keep_alive_s=settings.keep_alive_seconds,
                           factory=True, workers=settings.workers)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
    return 0


def cmd_local_api(_args: argparse.Namespace) -> int:
    import uvicorn

    from python_functions.local import config
    from python_functions.local.api import create_app as create_local_api
    from python_functions.service import logs, server

    settings = get_settings()
    logs.configure()
    lifeline.watch()
    project = config.read()
    auth = config.AuthConfig.from_toml(project, mail_smtp_port=settings.mail_smtp_port)
    app = create_local_api(settings.db_url, settings.supabase_jwt_secret,
                           f"http://{settings.host}:{settings.port}", settings.api_url,
                           auth=auth)
    uvicorn.Server(server.config(app, settings.host, settings.api_port,
                                 settings.header_read_timeout_seconds,
                                 settings.keep_alive_seconds)).run()
    return 0


def cmd_types(_args: argparse.Namespace) -> int:
    from python_functions.local import typegen

    settings = get_settings()
    cluster, started = stack.bring_up(settings)  # the migrations applied, as make run does
    try:
        changed = typegen.write(settings.db_url)
    finally:
        if cluster is not None and started:
            cluster.stop()
    where = typegen.TYPES_FILE.relative_to(PROJECT_ROOT)
    print(f"{where}: {'updated' if changed else 'up to date'}")
    return 0


def cmd_stop(_args: argparse.Namespace) -> int:
    return stack.stop(get_settings())


def cmd_reset(_args: argparse.Namespace) -> int:
    return stack.reset(get_settings())


def cmd_migrate(_args: argparse.Namespace) -> int:
    applied = migrations.prepare_database(get_settings().db_url, seed=False)
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m python_functions")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="start the embedded stack (what `make run` does)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("serve", help="run the AI service (HOST:PORT, configured from the env)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("local-api", help="serve /rest/v1, /auth/v1 and /functions/v1 on"
                       " API_PORT (started by `make run`)")
    p.set_defaults(func=cmd_local_api)
    p = sub.add_parser("types", help="generate types/database.types.ts (postgres-meta)")
    p.set_defaults(func=cmd_types)
    p = sub.add_parser("stop", help="stop the embedded cluster left running")
    p.set_defaults(func=cmd_stop)
    p = sub.add_parser("reset", help="re-create the embedded database from migrations and seed")
    p.set_defaults(func=cmd_reset)
    p = sub.add_parser("migrate", help="apply pending migrations to DATABASE_URL")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("rpc", help="call one RPC the way PostgREST would")
    p.add_argument("function", help="SCHEMA.FUNCTION")
    p.add_argument("params", nargs="*", help="key=text or key:=json")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--as", dest="as_email", metavar="EMAIL", help="act as this user")
    who.add_argument("--token", help="act with this JWT (verified like the API does)")
    p.add_argument("--get", action="store_true", help="call with GET (read-only transaction)")
    p.set_defaults(func=cmd_rpc)

    p = sub.add_parser("token", help="print a dev JWT for a user")
    p.add_argument("email")
    p.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    p.set_defaults(func=cmd_token)

    # key=value pairs may also follow the options (argparse will not intermix them itself)
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command != "rpc" or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.params = [*args.params, *extra]
    try:
        result: int = args.func(args)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: cannot reach the database: {first}", file=sys.stderr)
        print("hint: is `make run` up? With DATABASE_URL set, it is used instead of the local"
              " stack: unset it to use `make run`'s", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
