"""/auth/v1 follows `[auth]` of supabase/config.toml as GoTrue does on `supabase start`:
sign-ups on or off, the email and phone providers, confirmations, the password rules and
the access token's lifetime. The Supabase CLI is the judge of what the file means:
`supabase init` writes its defaults, and `supabase status` refuses what it cannot read (here
also for `[db.seed]`, whose files tests/test_supabase_fidelity.py loads both ways)."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError

from python_functions.local import config, stack
from python_functions.local.api import create_app as create_local_api
from python_functions.local.cluster import free_port
from python_functions.local.config import AuthConfig, ConfigError, auth_config
from python_functions.service.settings import DEV_JWT_SECRET, Settings
from supabase import Client, ClientOptions, create_client
from tests.conftest import TEST_EMAIL_DOMAIN, one
from tests.http_fixtures import ANON_KEY, SERVICE_ROLE_KEY, MailCatcher, ServerThread
from tests.local_api.conftest import session_claims
from tests.test_supabase_fidelity import SUPABASE_CLI

V2024 = {"X-Supabase-Api-Version": "2024-01-01"}
PASSWORD = "a-good-password"
SYMBOLS = "!@#$%^&*()_+-=[]{};'\\:\"|<>?,./`~"


def _email() -> str:
    return f"config-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def _signup(api: httpx.Client, email: str, password: str = PASSWORD, **body: Any
            ) -> httpx.Response:
    return api.post("/auth/v1/signup", json={"email": email, "password": password, **body},
                    headers=V2024)


def _sign_in(api: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return api.post("/auth/v1/token", params={"grant_type": "password"},
                    json={"email": email, "password": password}, headers=V2024)


@pytest.fixture
def configured(database_url: str, mail_catcher: MailCatcher) -> Any:
    """`configured(**settings)`: a local API whose `[auth]` differs from the project's by
    `settings`, and an HTTP client of it with the anon key. Its functions relay goes
    nowhere: Auth needs no AI service (nor do these tests run once per its transports)."""

    @contextlib.contextmanager
    def start(**settings: Any) -> Iterator[tuple[ServerThread, httpx.Client]]:
        port = free_port()
        app = create_local_api(database_url, DEV_JWT_SECRET, f"http://127.0.0.1:{free_port()}",
                               f"http://127.0.0.1:{port}",
                               auth=mail_catcher.auth_config(**settings))
        with ServerThread(app, port=port) as server, httpx.Client(
                base_url=server.url, timeout=30, headers={"apikey": ANON_KEY}) as client:
            yield server, client

    return start


def _supabase(server: ServerThread, key: str = ANON_KEY) -> Client:
    return create_client(server.url, key, ClientOptions(
        auto_refresh_token=False, persist_session=False, httpx_client=httpx.Client(timeout=10)))


# -----------------------------------------------------------------------------
# Reading the file, as the Supabase CLI reads it
# -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The config.toml that `supabase init` writes: every `[auth]` default of the CLI."""
    workdir = tmp_path_factory.mktemp("supabase-init")
    done = subprocess.run([str(SUPABASE_CLI), "init", "--workdir", str(workdir)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return (workdir / "supabase" / "config.toml").read_text()


def _cli_reads(text: str, workdir: Path) -> bool:
    """Whether `supabase status` gets past reading and checking `text` as
    supabase/config.toml (it then fails on the missing Docker, which is no matter here)."""
    (workdir / "supabase").mkdir(exist_ok=True)
    (workdir / "supabase" / "config.toml").write_text(text)
    done = subprocess.run([str(SUPABASE_CLI), "status", "--workdir", str(workdir)],
                          capture_output=True, text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    # refused: "failed to read config: ...", or a check's "Missing required field in
    # config: ..." and "Invalid hook config: ...", or the signing keys' "failed to read
    # signing keys: ...", "unsupported algorithm: ..." and the like
    refused = "Docker" not in output
    assert not refused or any(word in output for word in (
        "config", "signing keys", "JWK", "unsupported", "key.d")), output
    return not refused


def reads_as(text: str, workdir: Path, expected: dict[str, Any] | str) -> None:
    """`config.py` reads `text` as the CLI's defaults changed by `expected`, or, where
    `expected` is a pattern, refuses it with a message matching that pattern."""
    (workdir / "config.toml").write_text(text)
    if isinstance(expected, str):
        with pytest.raises(ConfigError, match=expected):
            auth_config(workdir / "config.toml")
    else:
        assert auth_config(workdir / "config.toml") == dataclasses.replace(AuthConfig(),
                                                                           **expected)


def read_alike(text: str, workdir: Path, cli_reads: bool, expected: dict[str, Any] | str
               ) -> None:
    """The CLI reads `text` or refuses it as `cli_reads` says, and `config.py` reads it as
    the CLI's defaults changed by `expected`, or refuses it in the words `expected` gives."""
    assert _cli_reads(text, workdir) is cli_reads
    reads_as(text, workdir, re.escape(expected) if isinstance(expected, str) else expected)


def test_the_projects_auth_settings_are_the_ones_supabase_init_writes(cli_template: str,
                                                                     tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(cli_template)
    assert auth_config(tmp_path / "config.toml") == AuthConfig() == auth_config()


@pytest.mark.parametrize(("line", "changed"), [
    ("jwt_expiry = 120", {"jwt_expiry_s": 120}),
    ("jwt_expiry = 0", {}),  # GoTrue's default then
    ('jwt_issuer = "https://auth.example.com/"', {"jwt_issuer": "https://auth.example.com/"}),
    ('jwt_secret = "sixteen-chars-ok"', {"jwt_secret": "sixteen-chars-ok"}),
    ('publishable_key = "sb_publishable_mine"', {"publishable_key": "sb_publishable_mine"}),
    ('anon_key = "eyJ.mine"', {"anon_key": "eyJ.mine"}),
    ("enable_signup = false", {"signup": False}),
    ("minimum_password_length = 12", {"minimum_password_length": 12}),
    ("minimum_password_length = 4", {}),  # GoTrue raises it to 6
    ('password_requirements = "letters_digits"', {"password_required_characters": (
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789")}),
    ('password_requirements = "lower_upper_letters_digits"', {
        "password_required_characters": ("abcdefghijklmnopqrstuvwxyz",
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789")}),
    ('password_requirements = "lower_upper_letters_digits_symbols"', {
        "password_required_characters": ("abcdefghijklmnopqrstuvwxyz",
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789",
                                          SYMBOLS)}),
    ("enable_refresh_token_rotation = false", {"refresh_token_rotation": False}),
    ("refresh_token_reuse_interval = 0", {"refresh_token_reuse_interval_s": 0.0}),
    ("[auth.email]\nenable_signup = false", {"email_signup": False}),
    ("[auth.email]\nenable_confirmations = true", {"email_confirmations": True}),
    ("[auth.sms]\nenable_signup = true", {"phone_signup": True}),
    ("[auth.email]\nsecure_password_change = true", {"secure_password_change": True}),
    ("[auth.email]\notp_expiry = 600", {"email_otp_expiry_s": 600}),
    ("[auth.email]\notp_expiry = 0", {"email_otp_expiry_s": 86400}),  # GoTrue's default
    ("[auth.email]\notp_length = 8", {"email_otp_length": 8}),
    ("[auth.email]\ndouble_confirm_changes = false", {"secure_email_change": False}),
    ('site_url = "http://localhost:5173"', {"site_url": "http://localhost:5173"}),
    ('additional_redirect_urls = ["https://*.example.com/**", "myapp://cb"]',
     {"additional_redirect_urls": ("https://*.example.com/**", "myapp://cb")}),
    # a string stands for its comma-separated parts; GoTrue splits every item at commas
    ('additional_redirect_urls = "https://a.example.com,https://b.example.com"',
     {"additional_redirect_urls": ("https://a.example.com", "https://b.example.com")}),
    ('additional_redirect_urls = ["https://{a,b}.example.com"]',
     {"additional_redirect_urls": ("https://{a", "b}.example.com")}),
    ("additional_redirect_urls = []", {"additional_redirect_urls": ()}),
    # what the CLI cannot read
    ('password_requirements = "digits"', None),
    ('enable_signup = "false"', None),
    ('jwt_expiry = "120"', None),
    ('jwt_secret = "fifteen-chars!!"', None),
    ("jwt_secret = 1234567890123456", None),
    ("secret_key = 12", None),
    ('[auth.email]\nsecure_password_change = "true"', None),
    ("site_url = 1", None),
    ("additional_redirect_urls = 1", None),
    ('[auth.email]\notp_length = "8"', None),
    ('[auth.email]\ndouble_confirm_changes = "no"', None),
    # where Auth's mail goes, and how often
    ('[auth.email]\nmax_frequency = "1m"', {"email_max_frequency_s": 60.0}),
    ("[local_smtp]\nenabled = false", {"smtp_host": ""}),  # GoTrue then sends nothing
    ("[local_smtp]\nsmtp_port = 2525", {"smtp_port": 2525}),
    ('[local_smtp]\nsender_name = "My App"', {"smtp_sender": "My App <admin@email.com>"}),
    ('[local_smtp]\nadmin_email = "auth@example.com"',
     {"smtp_sender": "Admin <auth@example.com>"}),
    ('[local_smtp]\nsmtp_port = "2525"', None),
])
def test_a_setting_is_read_as_the_cli_reads_it_or_refused_as_it_refuses_it(
        cli_template: str, tmp_path: Path, line: str, changed: dict[str, Any] | None) -> None:
    key = line.split("\n")[-1].split(" = ")[0]
    table = line.split("\n")[0] if "\n" in line else "[auth]"
    lines = cli_template.split("\n")
    start = lines.index(table)
    at = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(f"{key} = ")),
              None)
    if at is None:  # a setting the template leaves commented out
        lines.insert(start + 1, line.split("\n")[-1])
    else:
        lines[at] = line.split("\n")[-1]
    text = "\n".join(lines)
    assert _cli_reads(text, tmp_path) is (changed is not None)
    reads_as(text, tmp_path, key if changed is None else changed)


def test_the_mail_catchers_old_table_name_and_a_frequency_gotrue_cannot_parse(
        cli_template: str, tmp_path: Path) -> None:
    """`[inbucket]`, the name before `[local_smtp]`, is read (the CLI warns that it is
    deprecated); a `max_frequency` that is no Go duration the CLI lets through, and GoTrue
    would not start with it."""
    old_name = cli_template.replace("[local_smtp]", "[inbucket]").replace(
        "# smtp_port = 54325", "smtp_port = 2526")
    read_alike(old_name, tmp_path, True, {"smtp_port": 2526})
    read_alike(cli_template.replace('max_frequency = "1s"', 'max_frequency = "soon"'),
               tmp_path, True, "auth.email.max_frequency must be a duration")


def test_an_smtp_server_of_the_project_and_its_templates_are_read_as_the_cli_reads_them(
        cli_template: str, tmp_path: Path) -> None:
    """`[auth.email.smtp]` takes Auth's mail from the mail catcher (with `[auth.rate_limit]
    email_sent`, which the CLI passes only then); a template's `content_path` is read from
    the project's directory. A template the CLI reads but `make run` cannot render, or one
    whose file is missing, stops it with the setting named."""
    supabase_dir = tmp_path / "supabase"
    (supabase_dir / "templates").mkdir(parents=True)
    body = '<p><a href="{{ .ConfirmationURL }}">{{- .Email -}}</a> {{ .Data.name }}</p>'
    (supabase_dir / "templates" / "magic.html").write_text(body)
    text = cli_template + (
        '\n[auth.email.smtp]\nenabled = true\nhost = "smtp.example.com"\nport = 465\n'
        'user = "mailer"\npass = "secret"\nadmin_email = "auth@example.com"\n'
        'sender_name = "My App"\n'
        '\n[auth.email.template.magic_link]\nsubject = "Sign in to {{ .SiteURL }}"\n'
        'content_path = "./supabase/templates/magic.html"\n')
    assert _cli_reads(text, tmp_path)
    assert auth_config(supabase_dir / "config.toml") == dataclasses.replace(
        AuthConfig(), smtp_host="smtp.example.com", smtp_port=465, smtp_user="mailer",
        smtp_pass="secret", smtp_sender="My App <auth@example.com>", email_sent_per_hour=2,
        email_templates=(("magic_link", "Sign in to {{ .SiteURL }}", body),))
    # a notification's content_path is from supabase/ (the CLI's `resolve`); one turned off
    # is not read at all
    (supabase_dir / "notice.html").write_text("<p>{{ .Email }}</p>")
    noticed = text + (
        '\n[auth.email.notification.password_changed]\nenabled = true\n'
        'subject = "Changed"\ncontent_path = "./notice.html"\n'
        '\n[auth.email.notification.email_changed]\nenabled = false\n'
        'content_path = "./missing.html"\n')
    assert _cli_reads(noticed, tmp_path)
    assert auth_config(supabase_dir / "config.toml").email_notifications == (
        ("password_changed", "Changed", "<p>{{ .Email }}</p>"),)
    for content, refusal in (
            ("{{ if .Data.name }}Hi{{ end }}", r"content_path: make run renders only fields"
             r" such as \{\{ \.ConfirmationURL \}\} in a mail template, not \{\{ if"),
            (None, r"Invalid config for auth\.email\.template\.magic_link\.content_path")):
        target = supabase_dir / "templates" / "magic.html"
        if content is None:
            target.unlink()
        else:
            target.write_text(content)
        assert _cli_reads(text, tmp_path) is (content is not None)
        with pytest.raises(ConfigError, match=refusal):
            auth_config(supabase_dir / "config.toml")


@pytest.mark.parametrize(("table", "line"), [
    ("[auth]", "jwt_expiry = -1"), ("[auth]", "minimum_password_length = 6.5"),
    ("[auth.email]", "otp_expiry = -1"), ("[auth.email]", "otp_length = -1")])
def test_a_number_the_cli_lets_through_and_gotrue_would_not_start_with_is_refused(
        cli_template: str, tmp_path: Path, table: str, line: str) -> None:
    """GoTrue reads these as Go's `uint`: it would not start with a negative or fractional
    one, which the CLI hands it as written."""
    key = line.split(" = ")[0]
    lines = cli_template.split("\n")
    start = lines.index(table)
    at = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(f"{key} = "))
    lines[at] = line
    read_alike("\n".join(lines), tmp_path, True, f"{key} must be a whole number of at least 0")


@pytest.mark.parametrize(("table", "cli_reads", "changed"), [
    ('timebox = "24h"', True, {"session_timebox_s": 86400.0}),
    ('inactivity_timeout = "8h30m"', True, {"session_inactivity_timeout_s": 30600.0}),
    ('timebox = "1.5h"\ninactivity_timeout = "90s"', True,
     {"session_timebox_s": 5400.0, "session_inactivity_timeout_s": 90.0}),
    ('timebox = "0"', True, {}),
    ('timebox = "-1h"', True, {}),  # GoTrue takes a negative as none
    ('timebox = ""', True, {}),
    # the CLI takes any string here, and GoTrue, parsing it as a Go duration, would not start
    ('timebox = "1d"', True, None),
    ('inactivity_timeout = "24"', True, None),
    # what the CLI refuses
    ("timebox = 5", False, None),
    ("inactivity_timeout = true", False, None),
])
def test_session_limits_are_read_as_gotrue_reads_go_durations(
        cli_template: str, tmp_path: Path, table: str, cli_reads: bool,
        changed: dict[str, Any] | None) -> None:
    text = cli_template + "\n[auth.sessions]\n" + table + "\n"
    assert _cli_reads(text, tmp_path) is cli_reads
    reads_as(text, tmp_path, "must be a duration" if changed is None else changed)


@pytest.mark.parametrize(("lines", "patterns"), [
    ('sql_paths = "./seed.sql"', ["./seed.sql"]),  # one pattern, read as a list of one
    ('sql_paths = "./seed.sql,./more/*.sql"', ["./seed.sql", "./more/*.sql"]),  # split at ","
    ('sql_paths = ""', None),  # no pattern
    ('sql_paths = ["./seed.sql", "./more/*.sql"]', ["./seed.sql", "./more/*.sql"]),
    ("enabled = false", None),
    ("sql_paths = 5", "refused"),
    ('enabled = "false"', "refused"),
])
def test_the_seed_setting_is_read_as_the_cli_reads_it_or_refused_as_it_refuses_it(
        cli_template: str, tmp_path: Path, lines: str, patterns: Any) -> None:
    key = lines.split(" = ")[0]
    text = cli_template.split("\n")
    start = text.index("[db.seed]")
    at = next(i for i in range(start + 1, len(text)) if text[i].startswith(f"{key} = "))
    text[at] = lines
    assert _cli_reads("\n".join(text), tmp_path) is (patterns != "refused")
    (tmp_path / "supabase" / "seed.sql").write_text("select 1;")
    if patterns == "refused":
        with pytest.raises(ConfigError, match=key):
            config.seed_files(tmp_path)
        return
    files, unmatched = config.seed_files(tmp_path)
    if patterns is None:
        assert (files, unmatched) == ([], [])
    else:
        assert files == [tmp_path / "supabase" / "seed.sql"]
        assert unmatched == patterns[1:]


@pytest.mark.parametrize("command", [stack.run, stack.reset], ids=["run", "reset"])
@pytest.mark.parametrize(("line", "bad", "error"), [
    ('password_requirements = ""', 'password_requirements = "digits"',
     "[auth] password_requirements must be one of '', 'letters_digits',"
     " 'lower_upper_letters_digits', 'lower_upper_letters_digits_symbols', not 'digits'"),
    ('sql_paths = ["./seed.sql"]', "sql_paths = 5",
     "db.seed.sql_paths must be a list of strings"),
], ids=["auth", "seed"])
def test_make_run_and_reset_refuse_a_config_the_cli_cannot_read_before_they_touch_anything(
        cli_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], line: str, bad: str, error: str,
        command: Any) -> None:
    path = tmp_path / "supabase" / "config.toml"
    path.parent.mkdir()
    assert line in cli_template
    path.write_text(cli_template.replace(line, bad))
    monkeypatch.setattr(config, "CONFIG_TOML", path)
    local_dir = tmp_path / "local"
    assert command(Settings(local_dir=local_dir, database_url=None)) == 1
    assert capsys.readouterr().out.strip() == f"error: supabase/config.toml: {error}"
    assert not local_dir.exists()  # no pid file, no cluster made or dropped


# -----------------------------------------------------------------------------
# Sign-ups and the email provider
# -----------------------------------------------------------------------------

def test_with_sign_ups_off_nobody_signs_up_but_users_sign_in_and_the_admin_adds_them(
        configured: Any, admin: psycopg.Connection[Any]) -> None:
    existing = _email()
    with configured() as (_, api):
        assert _signup(api, existing).status_code == 200
    with configured(signup=False, anonymous_sign_ins=True) as (server, api):
        email = _email()
        body = _error(_signup(api, email), 422, "signup_disabled")
        assert body["message"] == "Signups not allowed for this instance"
        _error(api.post("/auth/v1/signup", json={}, headers=V2024), 422, "signup_disabled")
        assert one(admin, "select count(*) from auth.users where email = %s", email) == 0
        assert _sign_in(api, existing).status_code == 200
        settings = api.get("/auth/v1/settings").json()
        assert settings["disable_signup"] is True
        with pytest.raises(AuthApiError) as refused:  # as supabase-py reports it
            _supabase(server).auth.sign_up({"email": email, "password": PASSWORD})
        assert (refused.value.status, refused.value.code) == (422, "signup_disabled")
        added = _supabase(server, SERVICE_ROLE_KEY).auth.admin.create_user(
            {"email": email, "password": PASSWORD, "email_confirm": True}).user
        assert added.email == email
        assert _sign_in(api, email).status_code == 200


def test_with_the_email_provider_off_email_sign_ups_and_sign_ins_are_refused(
        configured: Any, admin: psycopg.Connection[Any]) -> None:
    existing = _email()
    with configured() as (_, api):
        assert _signup(api, existing).status_code == 200
    with configured(email_signup=False) as (_, api):
        email = _email()
        body = _error(_signup(api, email), 400, "email_provider_disabled")
        assert body["message"] == "Email signups are disabled"
        assert one(admin, "select count(*) from auth.users where email = %s", email) == 0
        body = _error(_sign_in(api, existing), 422, "email_provider_disabled")
        assert body["message"] == "Email logins are disabled"
        assert api.get("/auth/v1/settings").json()["external"]["email"] is False


def test_a_phone_is_refused_as_gotrue_refuses_it_with_the_phone_provider_off_or_on(
        configured: Any, admin: psycopg.Connection[Any]) -> None:
    """`[auth.sms] enable_signup` is off in the CLI's template: a phone is refused by its
    provider; on, a phone sign-up would need an SMS, which is not served here. Both an email
    and a phone is refused either way, where before the phone was ignored and the user made."""
    phone = "+48 600 100 200"
    for settings, signup, sign_in in (
            ({}, (400, "phone_provider_disabled"), (422, "phone_provider_disabled")),
            ({"phone_signup": True}, (422, "not_served_locally"), (422, "not_served_locally"))):
        with configured(**settings) as (_, api):
            email = _email()
            both = _signup(api, email, phone=phone)
            assert _error(both, 400, "validation_failed")["message"] == (
                "Only an email address or phone number should be provided on signup.")
            only_phone = api.post("/auth/v1/signup", json={"phone": phone, "password": PASSWORD},
                                  headers=V2024)
            assert (only_phone.status_code, only_phone.json()["code"]) == signup
            phone_sign_in = api.post("/auth/v1/token", params={"grant_type": "password"},
                                     json={"phone": phone, "password": PASSWORD}, headers=V2024)
            assert (phone_sign_in.status_code, phone_sign_in.json()["code"]) == sign_in
            both_sign_in = api.post("/auth/v1/token", params={"grant_type": "password"},
                                    json={"email": email, "phone": phone, "password": PASSWORD},
                                    headers=V2024)
            assert _error(both_sign_in, 400, "validation_failed")["message"] == (
                "Only an email address or phone number should be provided on login.")
            assert api.get("/auth/v1/settings").json()["external"]["phone"] is bool(settings)
            assert one(admin, "select count(*) from auth.users where email = %s", email) == 0


def test_a_credential_that_is_not_a_string_is_bad_json(configured: Any) -> None:
    with configured() as (_, api):
        for body in ({"email": 42, "password": PASSWORD}, {"email": _email(), "password": 123456},
                     {"email": _email(), "phone": ["+48"], "password": PASSWORD}):
            _error(api.post("/auth/v1/signup", json=body, headers=V2024), 400, "bad_json")
            _error(api.post("/auth/v1/token", params={"grant_type": "password"}, json=body,
                            headers=V2024), 400, "bad_json")


# -----------------------------------------------------------------------------
# Passwords
# -----------------------------------------------------------------------------

def test_the_password_rules_refuse_with_every_reason_as_supabase_py_reports_them(
        configured: Any, admin: psycopg.Connection[Any]) -> None:
    with configured(minimum_password_length=10, password_required_characters=(
            AuthConfig.from_toml({"auth": {
                "password_requirements": "lower_upper_letters_digits_symbols"}})
            .password_required_characters)) as (server, api):
        email = _email()
        body = _error(_signup(api, email, "Short1"), 422, "weak_password")
        assert body["weak_password"] == {"reasons": ["length", "characters"]}
        assert body["message"] == (
            "Password should be at least 10 characters. Password should contain at least one"
            " character of each: abcdefghijklmnopqrstuvwxyz, ABCDEFGHIJKLMNOPQRSTUVWXYZ,"
            f" 0123456789, {SYMBOLS}.")
        client = _supabase(server)
        with pytest.raises(AuthWeakPasswordError) as weak:
            client.auth.sign_up({"email": email, "password": "long-but-no-capital-1"})
        assert weak.value.reasons == ["characters"]
        assert one(admin, "select count(*) from auth.users where email = %s", email) == 0

        strong = "Long-Enough-1"
        session = client.auth.sign_up({"email": email, "password": strong}).session
        assert session is not None
        changed = api.put("/auth/v1/user", json={"password": "Short-1a"},
                          headers={"Authorization": f"Bearer {session.access_token}", **V2024})
        assert _error(changed, 422, "weak_password")["weak_password"] == {"reasons": ["length"]}
        users = _supabase(server, SERVICE_ROLE_KEY).auth.admin
        with pytest.raises(AuthWeakPasswordError):
            users.update_user_by_id(session.user.id, {"password": "nouppercase-1!"})
        # GoTrue checks no strength when the admin API creates a user
        made = users.create_user({"email": _email(), "password": "weak", "email_confirm": True})
        assert made.user.id


def test_a_password_the_rules_no_longer_accept_signs_in_and_says_it_is_weak(
        configured: Any) -> None:
    """GoTrue checks a password's strength at every sign-in too, and answers a session with
    `weak_password` beside it (supabase-js's `data.weakPassword`): rules tightened since."""
    email = _email()
    with configured() as (_, api):
        assert _signup(api, email).status_code == 200
        assert "weak_password" not in _sign_in(api, email).json()
    with configured(minimum_password_length=20) as (_, api):
        signed_in = _sign_in(api, email)
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["access_token"]
        assert signed_in.json()["weak_password"] == {
            "message": "Password should be at least 20 characters.", "reasons": ["length"]}
        wrong = _sign_in(api, email, "short")  # a wrong password is only that
        assert _error(wrong, 400, "invalid_credentials").get("weak_password") is None


def test_a_password_is_measured_in_bytes_and_over_72_is_400_as_in_gotrue(
        configured: Any) -> None:
    """Go's `len` counts bytes: five two-byte letters pass the minimum of 6; over 72 bytes is
    400 `validation_failed` before any other rule; an empty one is not a password."""
    with configured() as (_, api):
        assert _signup(api, _email(), "ąęółż").status_code == 200
        body = _error(_signup(api, _email(), "ż" * 37), 400, "validation_failed")
        assert body["message"] == "Password cannot be longer than 72 characters"
        body = _error(_signup(api, _email(), ""), 400, "validation_failed")
        assert body["message"] == "Signup requires a valid password"


def _new_password(api: httpx.Client, token: str, password: str, **body: Any
                  ) -> httpx.Response:
    return api.put("/auth/v1/user", json={"password": password, **body},
                   headers={"Authorization": f"Bearer {token}", **V2024})


def test_secure_password_change_asks_a_session_older_than_a_day_for_a_nonce(
        configured: Any, admin: psycopg.Connection[Any]) -> None:
    """`UpdatePasswordRequireReauthentication`: within 24 h of signing in, a new password
    needs nothing more; after, the nonce `/reauthenticate` mails (SHA-224 of the email and
    the nonce, kept as the user's reauthentication token until `otp_expiry`)."""
    email = _email()
    with configured(secure_password_change=True, email_otp_expiry_s=600) as (server, api):
        session = _signup(api, email).json()
        token, session_id = session["access_token"], session_claims(
            session["access_token"])["session_id"]
        assert _new_password(api, token, "a-second-password").status_code == 200
        admin.execute("update auth.sessions set created_at = now() - interval '25 hours'"
                      " where id = %s", (session_id,))
        body = _error(_new_password(api, token, "a-third-password"), 400,
                      "reauthentication_needed")
        assert body["message"] == "Password update requires reauthentication"
        client = _supabase(server)
        client.auth.set_session(token, session["refresh_token"])
        with pytest.raises(AuthApiError) as refused:  # as supabase-py reports it
            client.auth.update_user({"password": "a-third-password", "nonce": "123456"})
        assert (refused.value.status, refused.value.code) == (422, "reauthentication_not_valid")
        assert refused.value.message == "Nonce has expired or is invalid"

        def sent(ago: str) -> None:  # as `/reauthenticate` would have sent "123456"
            admin.execute(
                "update auth.users set reauthentication_token = encode(sha224(convert_to("
                "email || '123456', 'UTF8')), 'hex'), reauthentication_sent_at = now() - %s"
                "::interval where id = %s", (ago, session_claims(token)["sub"]))

        sent("11 minutes")  # past otp_expiry
        _error(_new_password(api, token, "a-third-password", nonce="123456"), 422,
               "reauthentication_not_valid")
        sent("1 minute")
        _error(_new_password(api, token, "a-third-password", nonce="654321"), 422,
               "reauthentication_not_valid")
        assert one(admin, "select encrypted_password = extensions.crypt('a-second-password',"
                   " encrypted_password) from auth.users where email = %s", email)
        assert _new_password(api, token, "a-third-password", nonce="123456").status_code == 200
        assert one(admin, "select reauthentication_token from auth.users where email = %s",
                   email) == ""  # used once
        _error(_new_password(api, token, "a-fourth-password", nonce="123456"), 422,
               "reauthentication_not_valid")
        _error(_new_password(api, token, "a-fourth-password", nonce=123456), 400, "bad_json")
    with configured() as (_, api):  # off, as in the CLI's template
        assert _new_password(api, token, "a-fourth-password").status_code == 200


# -----------------------------------------------------------------------------
# The access token's lifetime
# -----------------------------------------------------------------------------

def test_jwt_expiry_and_issuer_set_the_lifetime_and_iss_of_every_access_token(
        configured: Any) -> None:
    with configured(jwt_expiry_s=120) as (server, api):
        email = _email()
        signed_up = _signup(api, email).json()
        refreshed = api.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                             json={"refresh_token": signed_up["refresh_token"]},
                             headers=V2024).json()
        for session in (signed_up, _sign_in(api, email).json(), refreshed):
            claims = session_claims(session["access_token"])
            assert (session["expires_in"], claims["exp"] - claims["iat"]) == (120, 120)
            assert session["expires_at"] == claims["exp"]
        signed_in = _supabase(server).auth.sign_in_with_password(
            {"email": email, "password": PASSWORD}).session
        assert signed_in is not None and signed_in.expires_in == 120
        # `iss` is Auth's own URL unless `[auth] jwt_issuer` says otherwise
        assert session_claims(signed_in.access_token)["iss"] == (
            server.url + "/auth/v1")
    with configured(jwt_issuer="https://auth.example.com/") as (_, api):
        claims = session_claims(_signup(api, _email()).json()["access_token"])
        assert claims["iss"] == "https://auth.example.com/"


# -----------------------------------------------------------------------------
# env(NAME) values, from the environment and the CLI's dotenv files
# -----------------------------------------------------------------------------

GOOD_SECRET = "v1,whsec_" + "A" * 32


@pytest.mark.parametrize(("files", "process", "supabase_env", "read"), [
    ({}, None, None, False),                                        # unset: stays env(...)
    ({"supabase/.env": GOOD_SECRET}, None, None, True),
    ({"supabase/.env": "bad", ".env": GOOD_SECRET}, None, None, False),  # supabase/ first
    ({"supabase/.env.local": GOOD_SECRET, "supabase/.env": "bad"}, None, None, True),
    ({"supabase/.env": "bad"}, GOOD_SECRET, None, True),           # the process's first
    ({"supabase/.env.test": GOOD_SECRET, "supabase/.env.development": "bad"}, None, "test",
     True),
    ({"supabase/.env.local": GOOD_SECRET, "supabase/.env": "bad"}, None, "test", False),
], ids=["unset", "dotenv", "supabase-dir-first", "local-first", "process-first",
        "supabase-env", "no-local-for-test"])
def test_an_env_value_is_read_from_where_the_cli_reads_it(
        cli_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        files: dict[str, str], process: str | None, supabase_env: str | None,
        read: bool) -> None:
    """Judged by the CLI through an HTTP hook's `secrets`, which it refuses unless the value
    it ends up with is a `v1,whsec_` secret; a `jwt_issuer` from the same variables shows
    the value this stack ends up with."""
    for name in ("TEST_HOOK_SECRETS", "TEST_ISSUER", "SUPABASE_ENV"):
        monkeypatch.delenv(name, raising=False)
    if process is not None:
        monkeypatch.setenv("TEST_HOOK_SECRETS", process)
        monkeypatch.setenv("TEST_ISSUER", process)
    if supabase_env is not None:
        monkeypatch.setenv("SUPABASE_ENV", supabase_env)
    (tmp_path / "supabase").mkdir()
    for name, secret in files.items():
        (tmp_path / name).write_text(f"TEST_HOOK_SECRETS={secret}\nTEST_ISSUER={secret}\n")
    text = cli_template.replace("[auth]\n", '[auth]\njwt_issuer = "env(TEST_ISSUER)"\n', 1)
    text += ('\n[auth.hook.send_email]\nenabled = true\nuri = "https://example.com/hook"\n'
             'secrets = "env(TEST_HOOK_SECRETS)"\n')
    assert _cli_reads(text, tmp_path) is read
    if not read:
        with pytest.raises(ConfigError, match="secrets must be"):
            auth_config(tmp_path / "supabase" / "config.toml")
        return
    issuer = auth_config(tmp_path / "supabase" / "config.toml").jwt_issuer
    assert issuer == (process if process is not None else GOOD_SECRET)


# -----------------------------------------------------------------------------
# Session limits
# -----------------------------------------------------------------------------

def _refresh(api: httpx.Client, token: str) -> httpx.Response:
    return api.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                    json={"refresh_token": token}, headers=V2024)


def test_a_session_past_its_timebox_or_idle_too_long_is_not_refreshed(
        configured: Any, admin: psycopg.Connection[Any]) -> None:
    with configured(session_timebox_s=3600.0) as (server, api):
        session = _signup(api, _email()).json()
        session = _refresh(api, session["refresh_token"]).json()  # within it: refreshed
        admin.execute("update auth.sessions set created_at = now() - interval '61 minutes'"
                      " where id = %s", (session_claims(session["access_token"])["session_id"],))
        body = _error(_refresh(api, session["refresh_token"]), 400, "session_expired")
        assert body["message"] == "Invalid Refresh Token: Session Expired"
        with pytest.raises(AuthApiError) as expired:  # as supabase-py reports it
            _supabase(server).auth.refresh_session(session["refresh_token"])
        assert str(expired.value.code) == "session_expired"  # not in its ErrorCode type
    with configured(session_inactivity_timeout_s=600.0) as (_, api):
        session = _signup(api, _email()).json()
        session = _refresh(api, session["refresh_token"]).json()
        session_id = session_claims(session["access_token"])["session_id"]
        # idle for 9 minutes: refreshed, which starts the 10 minutes again
        admin.execute("update auth.sessions set refreshed_at = (now() at time zone 'utc')"
                      " - interval '9 minutes' where id = %s", (session_id,))
        session = _refresh(api, session["refresh_token"]).json()
        admin.execute("update auth.sessions set refreshed_at = (now() at time zone 'utc')"
                      " - interval '11 minutes' where id = %s", (session_id,))
        body = _error(_refresh(api, session["refresh_token"]), 400, "session_expired")
        assert body["message"] == "Invalid Refresh Token: Session Expired (Inactivity)"
    with configured() as (_, api):  # none by default, as the CLI's template has it
        session = _signup(api, _email()).json()
        admin.execute("update auth.sessions set created_at = now() - interval '400 days',"
                      " refreshed_at = now() - interval '400 days' where id = %s",
                      (session_claims(session["access_token"])["session_id"],))
        assert _refresh(api, session["refresh_token"]).status_code == 200
