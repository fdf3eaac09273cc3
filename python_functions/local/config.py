"""supabase/config.toml, read for the local stack as the Supabase CLI reads it.

`[db.seed]` names the seed files, which `make run` and `make reset` load as `supabase start`
and `supabase db reset` do (`seed_files`). The CLI hands `[api]` to PostgREST and `[auth]`
to GoTrue as environment variables (`internal/start/start.go`, read at the CLI's main of
June 2026); GoTrue then applies its own floors (`internal/conf/configuration.go`, v2.196).
`AuthConfig` is what GoTrue ends up with, so the stand-in (api/gotrue.py) answers as a
`supabase start` project with the same file does. A value written `"env(NAME)"` is read from
the environment and the CLI's dotenv files, as the CLI reads it (`environment`). What the
CLI refuses to read (a `password_requirements` it does not know, a boolean or a number
written as a string, a hook without its `uri` or with the wrong `secrets` for it) is refused
here too, before anything starts, as are a `jwt_secret` under 16 characters, a
`signing_keys_path` file it cannot read or sign with, and an `[auth.third_party]` provider
without what it needs; so is what GoTrue then refuses to start with (a `pg-functions://`
hook whose schema or function is not a plain Postgres name, signing keys with no or two
signing keys), and a negative or fractional number, which the CLI lets through; so is a
`signing_keys_path` file of no keys (the CLI reads it, and `supabase start`'s PostgREST then
takes no token).
"""

from __future__ import annotations

import dataclasses
import email.utils as email_utils
import glob
import json
import os
import re
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

import dotenv
import jwt

from python_functions import PROJECT_ROOT
from python_functions.local import go_template

CONFIG_TOML = PROJECT_ROOT / "supabase" / "config.toml"

# `[auth] password_requirements` as `ToChar` (the CLI's `pkg/config/auth.go`) spells it for
# GOTRUE_PASSWORD_REQUIRED_CHARACTERS, split as GoTrue's `PasswordRequiredCharacters`
# decodes that value (":" parts, a "\:" kept as ":")
_LOWER, _UPPER, _DIGITS = ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                           "0123456789")
PASSWORD_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "": (),
    "letters_digits": (_LOWER + _UPPER, _DIGITS),
    "lower_upper_letters_digits": (_LOWER, _UPPER, _DIGITS),
    "lower_upper_letters_digits_symbols": (_LOWER, _UPPER, _DIGITS,
                                           "!@#$%^&*()_+-=[]{};'\\:\"|<>?,./`~"),
}
MIN_PASSWORD_LENGTH = 6  # GoTrue's `defaultMinPasswordLength`: a smaller value is raised to it
DEFAULT_JWT_EXPIRY_S = 3600  # GoTrue's, for GOTRUE_JWT_EXP=0
DEFAULT_MAIL_PORT = 54324  # [local_smtp] port: the mail catcher's API
DEFAULT_MAIL_SMTP_PORT = 54325  # [local_smtp] smtp_port, as the CLI's template suggests it
# the templates `[auth.email.template.<name>]` may set (GoTrue's `templatemailer`)
EMAIL_TEMPLATES = ("invite", "confirmation", "recovery", "magic_link", "email_change",
                   "reauthentication")
# the notifications `[auth.email.notification.<name>]` may turn on
EMAIL_NOTIFICATIONS = ("password_changed", "email_changed", "phone_changed", "identity_linked",
                       "identity_unlinked", "mfa_factor_enrolled", "mfa_factor_unenrolled")
# `[auth.hook.*]` as the CLI knows them (`pkg/config/auth.go`), and whether `make run`'s Auth
# calls each: the others belong to what it does not serve (MFA, SMS), which answers 422
# `not_served_locally` with or without them, and the mail, which is then 422 (gotrue_mail.py)
HOOKS: dict[str, bool] = {
    "custom_access_token": True,
    "password_verification_attempt": True,
    "before_user_created": True,
    "mfa_verification_attempt": False,
    "send_sms": False,
    "send_email": False,
}
# The CLI's `hookSecretPattern` (`pkg/config/config.go`), for an HTTP hook's `secrets`
_HOOK_SECRET = re.compile(r"v1,whsec_[A-Za-z0-9+/=]{32,88}")
# where GoTrue takes an http:// hook (`ValidateExtensibilityPoint`)
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "host.docker.internal")
# the CLI's `envPattern` (`pkg/config/decode_hooks.go`)
_ENV_REFERENCE = re.compile(r"env\((.*)\)")
# GoTrue's `postgresNamesRegexp` (`internal/conf/configuration.go`)
_POSTGRES_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,62}")
# The key `supabase start` hands GoTrue when `[auth] signing_keys_path` is not set: the CLI's
# published development key (`NewConfig`, since January 2026), so user sessions are ES256
# and a token `supabase gen bearer-jwt` makes with "the local default" verifies here too.
# Like the default JWT secret, it is no secret; a project that needs one sets its own.
CLI_DEFAULT_SIGNING_KEY: dict[str, Any] = {
    "kty": "EC", "kid": "b81269f1-21d8-4f2e-b719-c2240a840d90", "use": "sig",
    "key_ops": ["sign", "verify"], "alg": "ES256", "ext": True, "crv": "P-256",
    "x": "M5Sjqn5zwC9Kl1zVfUUGvv9boQjCGd45G8sdopBExB4",
    "y": "P6IXMvA2WYXSHSOMTBH2jsw_9rrzGy89FjPf6oOsIxQ",
    "d": "dIhR8wywJlqlua4y_yMq2SLhlFXDZJBCvFrY1DCHyVU",
}
# `[auth.third_party.*]` as the CLI knows them (`pkg/config/auth.go`): each one's fields and
# issuer (`issuerURL`); `tenant_region` is the one optional field
_THIRD_PARTY_FIELDS: dict[str, tuple[str, ...]] = {
    "firebase": ("project_id",), "auth0": ("tenant", "tenant_region"),
    "aws_cognito": ("user_pool_id", "user_pool_region"), "clerk": ("domain",),
    "workos": ("issuer_url",)}
_THIRD_PARTY_ISSUERS: dict[str, Any] = {
    "firebase": lambda f: f"https://securetoken.google.com/{f['project_id']}",
    "auth0": lambda f: (f"https://{f['tenant']}.{f['tenant_region']}.auth0.com"
                        if f["tenant_region"] else f"https://{f['tenant']}.auth0.com"),
    "aws_cognito": lambda f: (f"https://cognito-idp.{f['user_pool_region']}.amazonaws.com/"
                              f"{f['user_pool_id']}"),
    "clerk": lambda f: f"https://{f['domain']}",
    "workos": lambda f: f["issuer_url"],
}
_CLERK_DOMAIN = re.compile(r"clerk([.][a-z0-9-]+){2,}|([a-z0-9-]+[.])+clerk[.]accounts[.]dev")
# what the CLI signs the anon and service_role keys with (`GenerateAsymmetricJWT`): the
# first key, a private one of these
_API_KEY_SIGNERS = {"ES256": ("EC", "P-256"), "RS256": ("RSA", None)}


class ConfigError(ValueError):
    """A value of supabase/config.toml that the local stack cannot use (the module's
    docstring says which of them the CLI refuses as well)."""


@dataclasses.dataclass(frozen=True)
class AuthConfig:
    """What GoTrue is configured with on `supabase start`; the defaults are the CLI's
    (`pkg/config/templates/config.toml`)."""

    jwt_expiry_s: int = DEFAULT_JWT_EXPIRY_S          # [auth] jwt_expiry
    jwt_secret: str = ""  # [auth] jwt_secret; "" for the CLI's default, the dev secret
    jwt_issuer: str = ""  # [auth] jwt_issuer; "" for the CLI's default, Auth's own URL
    signup: bool = True                                # [auth] enable_signup
    email_signup: bool = True                          # [auth.email] enable_signup
    email_confirmations: bool = False                  # [auth.email] enable_confirmations
    # [auth.email] secure_password_change: a new password needs a recent sign-in or a nonce
    secure_password_change: bool = False
    email_otp_expiry_s: int = 3600                     # [auth.email] otp_expiry (0: a day)
    email_otp_length: int = 6                          # [auth.email] otp_length
    secure_email_change: bool = True                   # [auth.email] double_confirm_changes
    site_url: str = "http://127.0.0.1:3000"            # [auth] site_url
    # [auth] additional_redirect_urls: patterns of where else a link may send the browser
    additional_redirect_urls: tuple[str, ...] = ("https://127.0.0.1:3000",)
    phone_signup: bool = False                         # [auth.sms] enable_signup
    anonymous_sign_ins: bool = False                   # [auth] enable_anonymous_sign_ins
    manual_linking: bool = False                       # [auth] enable_manual_linking
    # [auth.external.*] turned on: each provider's name, and whether it has a secret
    oauth_providers: tuple[tuple[str, bool], ...] = ()
    oauth_server: bool = False                         # [auth.oauth_server] enabled
    passkeys: bool = False                             # [auth.passkey] enabled
    refresh_token_rotation: bool = True                # [auth] enable_refresh_token_rotation
    refresh_token_reuse_interval_s: float = 10.0       # [auth] refresh_token_reuse_interval
    minimum_password_length: int = MIN_PASSWORD_LENGTH  # [auth] minimum_password_length
    # [auth.sessions] timebox and inactivity_timeout, in seconds; 0 for none (the default)
    session_timebox_s: float = 0.0
    session_inactivity_timeout_s: float = 0.0
    password_required_characters: tuple[str, ...] = ()  # [auth] password_requirements
    # [auth.hook.*] uri, of each hook make run calls, when it is enabled
    custom_access_token_hook: str = ""
    password_verification_hook: str = ""  # password_verification_attempt
    before_user_created_hook: str = ""
    # [auth.hook.*] secrets of those with an HTTP(S) uri ("v1,whsec_..." each), by hook name
    hook_secrets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # the MFA factor types whose [auth.mfa.<type>] enroll_enabled is true (off in the CLI's
    # template): "totp", "phone", "webauthn"
    mfa_enroll: tuple[str, ...] = ()
    # [auth] signing_keys_path: its JWKs, private parts included, as the CLI hands them to
    # GoTrue; else the CLI's default key (and then tokens signed with the JWT secret are
    # still taken everywhere: `keys_from_file` is False)
    signing_keys: tuple[dict[str, Any], ...] = (CLI_DEFAULT_SIGNING_KEY,)
    keys_from_file: bool = False
    # [auth] publishable_key, secret_key, anon_key, service_role_key: "" for the CLI's (its
    # fixed new keys; the legacy ones it signs: `ProjectKeys.api_key`)
    publishable_key: str = ""
    secret_key: str = ""
    anon_key: str = ""
    service_role_key: str = ""
    # [auth.third_party.*]: the issuer of the one provider turned on, whose keys PostgREST
    # also takes (`jwt_keys.third_party_jwks`); "" for none
    third_party_issuer: str = ""
    # where Auth's mail goes (`[auth.email.smtp]` when enabled, else `make run`'s mail
    # catcher, `[local_smtp]`, on 127.0.0.1): "" sends none, as GoTrue with no SMTP host
    smtp_host: str = "127.0.0.1"
    smtp_port: int = DEFAULT_MAIL_SMTP_PORT
    smtp_user: str = ""
    smtp_pass: str = ""
    smtp_sender: str = "Admin <admin@email.com>"  # admin_email and sender_name, as From
    email_max_frequency_s: float = 1.0                 # [auth.email] max_frequency
    # [auth.rate_limit] email_sent, which the CLI hands GoTrue with [auth.email.smtp] only;
    # else GoTrue's own default
    email_sent_per_hour: int = 30
    # [auth.email.template.<name>]: (name, subject or "", the content_path's text or "")
    email_templates: tuple[tuple[str, str, str], ...] = ()
    # [auth.email.notification.<name>] enabled: (name, subject or "", content or "")
    email_notifications: tuple[tuple[str, str, str], ...] = ()
    # [auth.hook.send_email] enabled: GoTrue would hand its mail to the hook, not to SMTP
    send_email_hook: bool = False

    @classmethod
    def from_toml(cls, config: dict[str, Any], supabase_dir: Path = CONFIG_TOML.parent,
                  mail_smtp_port: int | None = None) -> AuthConfig:
        """`[auth]` of a parsed config.toml (of `supabase_dir`, which a relative
        `signing_keys_path` starts from); a missing key takes the CLI's default.
        `mail_smtp_port`: the mail catcher's SMTP port where it is not the file's."""
        auth = _table(config, "auth")
        email = _table(auth, "email", "auth.")
        sms = _table(auth, "sms", "auth.")
        sessions = _table(auth, "sessions", "auth.")
        defaults = cls()
        hooks, hook_secrets = _hooks(auth)
        requirements = _value(auth, "password_requirements", str, "", "auth.")
        if requirements not in PASSWORD_REQUIREMENTS:
            allowed = ", ".join(repr(k) for k in PASSWORD_REQUIREMENTS)
            raise ConfigError(f"supabase/config.toml: [auth] password_requirements must be"
                              f" one of {allowed}, not {requirements!r}")
        return cls(
            jwt_expiry_s=_count(auth, "jwt_expiry", defaults.jwt_expiry_s)
            or DEFAULT_JWT_EXPIRY_S,
            jwt_issuer=_value(auth, "jwt_issuer", str, defaults.jwt_issuer, "auth."),
            jwt_secret=_jwt_secret(auth),
            signup=_value(auth, "enable_signup", bool, defaults.signup, "auth."),
            email_signup=_value(email, "enable_signup", bool, defaults.email_signup,
                                "auth.email."),
            email_confirmations=_value(email, "enable_confirmations", bool,
                                       defaults.email_confirmations, "auth.email."),
            secure_password_change=_value(email, "secure_password_change", bool,
                                          defaults.secure_password_change, "auth.email."),
            # GoTrue takes 0 as its default, a day
            email_otp_expiry_s=_count(email, "otp_expiry", defaults.email_otp_expiry_s,
                                      "auth.email.") or 86400,
            email_otp_length=_count(email, "otp_length", defaults.email_otp_length,
                                    "auth.email."),
            secure_email_change=_value(email, "double_confirm_changes", bool,
                                       defaults.secure_email_change, "auth.email."),
            site_url=_value(auth, "site_url", str, defaults.site_url, "auth."),
            additional_redirect_urls=_strings(auth, "additional_redirect_urls",
                                              defaults.additional_redirect_urls, "auth."),
            phone_signup=_value(sms, "enable_signup", bool, defaults.phone_signup,
                                "auth.sms."),
            anonymous_sign_ins=_value(auth, "enable_anonymous_sign_ins", bool,
                                      defaults.anonymous_sign_ins, "auth."),
            manual_linking=_value(auth, "enable_manual_linking", bool,
                                  defaults.manual_linking, "auth."),
            oauth_providers=_oauth_providers(auth),
            oauth_server=_value(_table(auth, "oauth_server", "auth."), "enabled", bool,
                                defaults.oauth_server, "auth.oauth_server."),
            passkeys=_passkeys(auth),
            refresh_token_rotation=_value(auth, "enable_refresh_token_rotation", bool,
                                          defaults.refresh_token_rotation, "auth."),
            refresh_token_reuse_interval_s=float(_count(
                auth, "refresh_token_reuse_interval",
                int(defaults.refresh_token_reuse_interval_s))),
            minimum_password_length=max(MIN_PASSWORD_LENGTH, _count(
                auth, "minimum_password_length", defaults.minimum_password_length)),
            password_required_characters=PASSWORD_REQUIREMENTS[requirements],
            session_timebox_s=_duration(sessions, "timebox", "auth.sessions."),
            session_inactivity_timeout_s=_duration(sessions, "inactivity_timeout",
                                                   "auth.sessions."),
            custom_access_token_hook=hooks.get("custom_access_token", ""),
            password_verification_hook=hooks.get("password_verification_attempt", ""),
            before_user_created_hook=hooks.get("before_user_created", ""),
            hook_secrets=hook_secrets,
            mfa_enroll=_mfa_enroll(auth),
            **_signing_keys(auth, supabase_dir),
            **{key: _value(auth, key, str, "", "auth.") for key in (
                "publishable_key", "secret_key", "anon_key", "service_role_key")},
            third_party_issuer=_third_party_issuer(auth),
            **_mail(config, auth, supabase_dir, mail_smtp_port),
            send_email_hook=_value(_table(_table(auth, "hook", "auth."), "send_email",
                                          "auth.hook."), "enabled", bool, False,
                                   "auth.hook.send_email."),
        )


def _mail(config: dict[str, Any], auth: dict[str, Any], supabase_dir: Path,
          mail_smtp_port: int | None) -> dict[str, Any]:
    """Where and how Auth sends mail, as `supabase start` configures GoTrue
    (`internal/start/start.go`): `[auth.email.smtp]` when enabled, else the mail catcher of
    `[local_smtp]` when enabled (on `mail_smtp_port` where given, the `MAIL_SMTP_PORT`
    setting), else no SMTP host (GoTrue then sends nothing); the
    `[auth.email]` frequency and templates (a `content_path` from the project's directory,
    as the CLI resolves it)."""
    email = _table(auth, "email", "auth.")
    smtp = _table(email, "smtp", "auth.email.")
    catcher, name = _mail_catcher_table(config)
    rate_limit = _table(auth, "rate_limit", "auth.")
    found: dict[str, Any] = {"email_max_frequency_s": _duration(
        {"max_frequency": "1s"} | email, "max_frequency", "auth.email.")}
    if _value(smtp, "enabled", bool, bool(smtp), "auth.email.smtp."):
        port = smtp.get("port", 587)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"supabase/config.toml: auth.email.smtp.port must be a port"
                              f" number, not {port!r}")
        found |= {"smtp_host": _value(smtp, "host", str, "", "auth.email.smtp."),
                  "smtp_port": port,
                  "smtp_user": _value(smtp, "user", str, "", "auth.email.smtp."),
                  "smtp_pass": _value(smtp, "pass", str, "", "auth.email.smtp."),
                  "smtp_sender": email_utils.formataddr((
                      _value(smtp, "sender_name", str, "", "auth.email.smtp."),
                      _value(smtp, "admin_email", str, "", "auth.email.smtp."))),
                  "email_sent_per_hour": _count(rate_limit, "email_sent", 2,
                                                "auth.rate_limit.")}
    elif mail_catcher_enabled(config):
        found |= {"smtp_port": mail_catcher_ports(config, None, mail_smtp_port)[1],
                  "smtp_sender": email_utils.formataddr((
            _value(catcher, "sender_name", str, "Admin", name),
            _value(catcher, "admin_email", str, "admin@email.com", name)))}
    else:
        found |= {"smtp_host": ""}
    found["email_templates"] = tuple(
        _mail_template(table, f"auth.email.template.{name}.", supabase_dir.parent)
        for name, table in _named_tables(email, "template", EMAIL_TEMPLATES))
    # enabled notifications only; their content_path is from supabase/, as the CLI has it
    found["email_notifications"] = tuple(
        _mail_template(table, f"auth.email.notification.{name}.", supabase_dir)
        for name, table in _named_tables(email, "notification", EMAIL_NOTIFICATIONS)
        if _value(table, "enabled", bool, False, f"auth.email.notification.{name}."))
    return found


def _named_tables(email: dict[str, Any], kind: str, names: tuple[str, ...]
                  ) -> list[tuple[str, dict[str, Any]]]:
    """`[auth.email.<kind>.<name>]`, each of a name GoTrue knows."""
    tables = sorted(_table(email, kind, "auth.email.").items())
    for name, table in tables:
        if name not in names or not isinstance(table, dict):
            raise ConfigError(f"supabase/config.toml: [auth.email.{kind}.{name}] is not one"
                              f" of {', '.join(names)}")
    return tables


def _mail_template(table: dict[str, Any], prefix: str, base: Path) -> tuple[str, str, str]:
    """A template's name, `subject` and the text of its `content_path` (from `base`), each
    one `make run` can render."""
    path = _value(table, "content_path", str, "", prefix)
    content = ""
    if path:
        try:
            content = (base / path).read_text()
        except OSError as exc:
            raise ConfigError(f"Invalid config for {prefix}content_path: {exc}") from None
    subject = _value(table, "subject", str, "", prefix)
    for what, text in (("subject", subject), ("content_path", content)):
        action = go_template.unsupported(text)
        if action is not None:
            raise ConfigError(f"supabase/config.toml: {prefix}{what}: make run renders only"
                              f" fields such as {{{{ .ConfirmationURL }}}} in a mail template,"
                              f" not {action}")
    return prefix.split(".")[-2], subject, content


def _mail_catcher_table(config: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """`[local_smtp]`, the mail catcher's table since the CLI 2.11x, else `[inbucket]`, its
    older name (which the CLI still reads, with a warning); and its name, for messages."""
    name = "local_smtp" if "local_smtp" in config or "inbucket" not in config else "inbucket"
    return _table(config, name), name + "."


def mail_ports(config: dict[str, Any]) -> tuple[int, int]:
    """The mail catcher's ports: `[local_smtp] port` (its API, 54324) and `smtp_port`,
    which `supabase start` publishes only when set and `make run` always opens (54325
    unless set)."""
    catcher, name = _mail_catcher_table(config)
    ports = []
    for key, default in (("port", DEFAULT_MAIL_PORT), ("smtp_port", DEFAULT_MAIL_SMTP_PORT)):
        value = catcher.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise ConfigError(f"supabase/config.toml: {name}{key} must be a port number,"
                              f" not {value!r}")
        ports.append(value)
    return ports[0], ports[1]


def mail_catcher_ports(config: dict[str, Any], port: int | None, smtp_port: int | None
                       ) -> tuple[int, int]:
    """The mail catcher's ports: those given (the `MAIL_PORT` and `MAIL_SMTP_PORT`
    settings), else the file's (`mail_ports`)."""
    api, smtp = mail_ports(config)
    return port or api, smtp_port or smtp


def mail_catcher_enabled(config: dict[str, Any]) -> bool:
    """`[local_smtp] enabled` (on in the CLI's template)."""
    catcher, name = _mail_catcher_table(config)
    return bool(_value(catcher, "enabled", bool, True, name))


def _third_party_issuer(auth: dict[str, Any]) -> str:
    """The issuer of the `[auth.third_party]` provider turned on ("" for none), checked as
    the CLI's `thirdParty.validate` checks them, in its order and words."""
    providers = _table(auth, "third_party", "auth.")
    issuers: list[str] = []
    for name in ("firebase", "auth0", "aws_cognito", "clerk", "workos"):
        table = _table(providers, name, "auth.third_party.")
        prefix = f"auth.third_party.{name}."
        if not _value(table, "enabled", bool, False, prefix):
            continue
        fields = {key: _value(table, key, str, "", prefix) for key in _THIRD_PARTY_FIELDS[name]}
        shown = "cognito" if name == "aws_cognito" else name
        for key in _THIRD_PARTY_FIELDS[name]:
            if key != "tenant_region" and not fields[key]:
                raise ConfigError(f"Invalid config: auth.third_party.{shown} is enabled but"
                                  f" without a {key}.")
        if name == "clerk" and not _CLERK_DOMAIN.fullmatch(fields["domain"]):
            raise ConfigError(
                "Invalid config: auth.third_party.clerk has invalid domain, it usually is like"
                " clerk.example.com or example.clerk.accounts.dev. Check"
                " https://clerk.com/setup/supabase on how to find the correct value.")
        issuers.append(_THIRD_PARTY_ISSUERS[name](fields))
    if len(issuers) > 1:
        raise ConfigError("Invalid config: Only one third_party provider allowed to be enabled"
                          " at a time.")
    return issuers[0] if issuers else ""


def _jwt_secret(auth: dict[str, Any]) -> str:
    """`[auth] jwt_secret` as the CLI takes it (`generateAPIKeys`): 16 characters at least."""
    secret: str = _value(auth, "jwt_secret", str, "", "auth.")
    if secret and len(secret) < 16:
        raise ConfigError("Invalid config for auth.jwt_secret. Must be at least 16 characters")
    return secret


def _signing_keys(auth: dict[str, Any], supabase_dir: Path) -> dict[str, Any]:
    """`[auth] signing_keys_path`, read as the CLI reads it (the file's errors in its words;
    the first key must be one it signs the API keys with) and checked as GoTrue checks its
    `GOTRUE_JWT_KEYS` at start (exactly one key whose `key_ops` has "sign")."""
    path = _value(auth, "signing_keys_path", str, "", "auth.")
    if not path:
        return {}
    file = supabase_dir / path
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"failed to read signing keys: {exc.strerror}: {file}") from None
    try:
        keys = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"failed to decode signing keys: {exc}") from None
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        raise ConfigError("failed to decode signing keys: expected an array of JWK objects")
    if not keys:  # GoTrue would sign with the JWT secret, which PostgREST then refuses
        raise ConfigError(f"{file} holds no keys: supabase start's PostgREST would then"
                          " take no token at all; `supabase gen signing-key` makes one")
    first = keys[0]
    allowed = _API_KEY_SIGNERS.get(first.get("alg"))
    if allowed is None:
        raise ConfigError(f"unsupported algorithm: {first.get('alg', '')}")
    if (first.get("kty"), first.get("crv") if allowed[1] else None) != allowed:
        raise ConfigError(f"failed to convert JWK to private key: {first.get('kty')} key"
                          f" {first.get('crv', '')} cannot sign {first['alg']}")
    if "d" not in first:
        raise ConfigError("failed to convert JWK to private key: the first key has no"
                          " private part (d)")
    signers = [key for key in keys if "sign" in (key.get("key_ops") or ())]
    if not signers:
        raise ConfigError(f"{file}: no signing key detected (GoTrue signs with the key whose"
                          ' key_ops has "sign")')
    if len(signers) > 1:
        raise ConfigError(f"{file}: multiple signing keys detected, only 1 signing key is"
                          " supported")
    for number, key in enumerate(keys, 1):
        if key.get("kty") not in ("EC", "RSA"):
            raise ConfigError(f"{file}: key {number} is {key.get('kty')!r}; make run takes EC"
                              " and RSA keys, as `supabase gen signing-key` makes them")
        try:
            jwt.PyJWK(key)
        except jwt.PyJWTError as exc:
            raise ConfigError(f"{file}: key {number} is not a usable JWK: {exc}") from None
    return {"signing_keys": tuple(keys), "keys_from_file": True}


def hook_function(uri: str) -> str:
    """The function a `pg-functions://<database>/<schema>/<function>` hook names, quoted as
    GoTrue quotes it (`PopulateExtensibilityPoint`: `"schema"."function"`)."""
    _, schema, function = urllib.parse.urlsplit(uri).path.split("/")[:3]
    return f'"{schema}"."{function}"'


def _passkeys(auth: dict[str, Any]) -> bool:
    """`[auth.passkey] enabled`, checked as the CLI checks it: passkeys need `[auth.webauthn]`
    with its `rp_id` and `rp_origins`."""
    if not _value(_table(auth, "passkey", "auth."), "enabled", bool, False, "auth.passkey."):
        return False
    if "webauthn" not in auth:
        raise ConfigError("supabase/config.toml: Missing required config section: auth.webauthn"
                          " (required when auth.passkey.enabled is true)")
    webauthn = _table(auth, "webauthn", "auth.")
    for key in ("rp_id", "rp_origins"):
        if not webauthn.get(key):
            raise ConfigError("supabase/config.toml: Missing required field in config:"
                              f" auth.webauthn.{key}")
    return True


def _oauth_providers(auth: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
    """`[auth.external.<provider>]` turned on, as the CLI reads and checks them
    (`external.validate`): `linkedin` and `slack` are dropped (deprecated for their `_oidc`
    successors), and a provider turned on needs its `client_id` and, but for `apple` and
    `google`, its `secret`. Each with whether a secret is set (GoTrue asks for one)."""
    external = _table(auth, "external", "auth.")
    enabled = []
    for name in sorted(external):
        table = _table(external, name, "auth.external.")
        prefix = f"auth.external.{name}."
        if not _value(table, "enabled", bool, False, prefix) or name in ("linkedin", "slack"):
            continue
        secret = _value(table, "secret", str, "", prefix)
        if not _value(table, "client_id", str, "", prefix):
            raise ConfigError(f"supabase/config.toml: Missing required field in config:"
                              f" {prefix}client_id")
        if not secret and name not in ("apple", "google"):
            raise ConfigError(f"supabase/config.toml: Missing required field in config:"
                              f" {prefix}secret")
        enabled.append((name, bool(secret)))
    return tuple(enabled)


def _mfa_enroll(auth: dict[str, Any]) -> tuple[str, ...]:
    """The factor types `[auth.mfa]` lets users enroll (`enroll_enabled` of `totp`, `phone`
    and `web_authn`), read and checked as the CLI reads them (`mfa.validate`: enrolling
    needs `verify_enabled` too)."""
    mfa = _table(auth, "mfa", "auth.")
    enrolled = []
    for factor, name in (("totp", "totp"), ("phone", "phone"), ("webauthn", "web_authn")):
        table = _table(mfa, name, "auth.mfa.")
        enroll, verify = (_value(table, key, bool, False, f"auth.mfa.{name}.")
                          for key in ("enroll_enabled", "verify_enabled"))
        if enroll and not verify:
            raise ConfigError(f"supabase/config.toml: auth.mfa.{name}.enroll_enabled requires"
                              " verify_enabled")
        if enroll:
            enrolled.append(factor)
    return tuple(enrolled)


def _hooks(auth: dict[str, Any]
           ) -> tuple[dict[str, str], tuple[tuple[str, tuple[str, ...]], ...]]:
    """The enabled hooks of `[auth.hook]` that `make run` calls: their URIs, and the secrets
    of those called over HTTP (split at `|`, as GoTrue splits them). Refused: what the CLI
    refuses (`hookConfig.validate`) and what GoTrue refuses to start with
    (`validatePostgresPath`, `ValidateExtensibilityPoint`)."""
    hooks = _table(auth, "hook", "auth.")
    enabled: dict[str, str] = {}
    secrets_of: list[tuple[str, tuple[str, ...]]] = []
    for name, hook in hooks.items():
        prefix = f"auth.hook.{name}."
        if name not in HOOKS or not isinstance(hook, dict):
            continue  # the CLI ignores a key it does not know
        if not _value(hook, "enabled", bool, False, prefix):
            continue
        uri = _value(hook, "uri", str, "", prefix)
        secrets = _value(hook, "secrets", str, "", prefix)
        where = f"supabase/config.toml: [auth.hook.{name}]"
        if not uri:
            raise ConfigError(f"{where} uri is required when the hook is enabled")
        parsed = urllib.parse.urlsplit(uri)
        scheme = parsed.scheme.lower()
        if scheme in ("http", "https"):
            if not secrets or not all(_HOOK_SECRET.fullmatch(secret)
                                      for secret in secrets.split("|")):
                raise ConfigError(f'{where} secrets must be "v1,whsec_<base64 secret>" (32 to'
                                  f" 88 characters) for an HTTP hook")
            if scheme == "http" and parsed.hostname not in _LOCAL_HOSTS:
                raise ConfigError(f"{where} uri: GoTrue takes http:// for a local host only"
                                  f" ({', '.join(_LOCAL_HOSTS)}); use https://")
            if HOOKS[name]:
                enabled[name] = uri
                secrets_of.append((name, tuple(part for part in secrets.split("|") if part)))
            continue
        if scheme != "pg-functions":
            raise ConfigError(f"{where} uri must be an HTTP, HTTPS or pg-functions URI,"
                              f" not {uri!r}")
        if secrets:
            raise ConfigError(f"{where} secrets is not used by a pg-functions URI")
        parts = parsed.path.split("/")
        if len(parts) < 3 or not all(_POSTGRES_NAME.fullmatch(part) for part in parts[1:3]):
            raise ConfigError(f"{where} uri must be pg-functions://<database>/<schema>/"
                              f"<function>, each a plain Postgres name, not {uri!r}")
        if HOOKS[name]:
            enabled[name] = uri
    return enabled, tuple(secrets_of)


def read(path: Path | None = None) -> dict[str, Any]:
    """The parsed file (the project's unless `path`), each `"env(NAME)"` string replaced as
    the CLI replaces it (`environment`); one that is not TOML is a `ConfigError` naming the
    fault."""
    path = path or CONFIG_TOML
    try:
        with path.open("rb") as handle:
            parsed = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"supabase/config.toml is not valid TOML: {exc}") from None
    resolved: dict[str, Any] = _with_environment(parsed, environment(path.parent))
    return resolved


def environment(supabase_dir: Path) -> dict[str, str]:
    """The variables an `env(NAME)` value reads, as the CLI's `loadNestedEnv` loads them: the
    process's, then from `supabase/` and the project's root in turn the dotenv files
    `.env.<SUPABASE_ENV>.local`, `.env.local` (not for `test`), `.env.<SUPABASE_ENV>` and
    `.env` (`SUPABASE_ENV` is `development` unless set); a variable set earlier is kept."""
    variables = dict(os.environ)
    name = variables.get("SUPABASE_ENV") or "development"
    files = [f".env.{name}.local", *([".env.local"] if name != "test" else []),
             f".env.{name}", ".env"]
    for directory in (supabase_dir, supabase_dir.parent):
        for file in files:
            if (directory / file).is_file():
                for key, value in dotenv.dotenv_values(directory / file).items():
                    if value is not None:
                        variables.setdefault(key, value)
    return variables


def _with_environment(value: Any, variables: dict[str, str]) -> Any:
    """`LoadEnvHook`: a string that is all `env(NAME)` becomes that variable's value when it
    is set and not empty, and stays as written otherwise."""
    if isinstance(value, str):
        reference = _ENV_REFERENCE.fullmatch(value)
        return variables.get(reference[1]) or value if reference else value
    if isinstance(value, dict):
        return {key: _with_environment(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_environment(item, variables) for item in value]
    return value


def exposed_schemas() -> list[str]:
    """`[api] schemas` of supabase/config.toml: what PostgREST exposes on `supabase start`."""
    schemas: list[str] = read()["api"]["schemas"]
    return schemas


def max_rows(config: dict[str, Any]) -> int | None:
    """`[api] max_rows` of supabase/config.toml (PostgREST's `db-max-rows`)."""
    value = config.get("api", {}).get("max_rows")
    return int(value) if isinstance(value, int) and value > 0 else None


def extra_search_path(config: dict[str, Any]) -> tuple[str, ...]:
    """`[api] extra_search_path` of supabase/config.toml as PostgREST gets it from `supabase
    start`: the CLI joins the list with commas (a string stands for its comma-separated
    parts) into `PGRST_DB_EXTRA_SEARCH_PATH`, which PostgREST splits at the commas, each part
    stripped. Without the key, the CLI's template's (`public, extensions`: the CLI merges
    the file over its template); `[]` leaves a request's search_path its schema alone."""
    value = _table(config, "api").get("extra_search_path", ["public", "extensions"])
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise ConfigError("supabase/config.toml: api.extra_search_path must be a list of"
                          f" schema names, not {value!r}")
    return tuple(part.strip() for part in value.split(",")) if value else ()


def seed_files(project: Path = PROJECT_ROOT) -> tuple[list[Path], list[str]]:
    """`[db.seed]` of the project's supabase/config.toml: the files its `sql_paths` match, and
    the patterns that match none. As the CLI's `Glob.Files` (2.117): each pattern is taken
    from `supabase/` (unless absolute), its matches sorted, the patterns in their order, a
    file matched twice loaded once; `enabled = false` names none. The defaults are the
    CLI's: on, `["./seed.sql"]`."""
    seed = _table(_table(read(project / "supabase" / "config.toml"), "db"), "seed", "db.")
    if not _value(seed, "enabled", bool, True, "db.seed."):
        return [], []
    patterns = seed.get("sql_paths", ["./seed.sql"])
    if isinstance(patterns, str):  # `StringToSliceHookFunc(",")`: split at commas
        patterns = patterns.split(",") if patterns else []
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ConfigError("supabase/config.toml: db.seed.sql_paths must be a list of strings")
    files: list[Path] = []
    unmatched: list[str] = []
    for pattern in patterns:
        # `path.Join` cleans the pattern ("./", "../") before Go's `fs.Glob` reads it, whose
        # `*` also matches a name with a leading dot and whose `**` is one level
        rooted = os.path.normpath(pattern if os.path.isabs(pattern)
                                  else os.path.join("supabase", pattern))
        matches = sorted(glob.glob(rooted, root_dir=project, include_hidden=True))
        if not matches:
            unmatched.append(pattern)
        for match in matches:
            path = project / match
            if path.is_file() and path not in files:
                files.append(path)
    return files, unmatched


def check(path: Path | None = None) -> None:
    """Raise `ConfigError` for the first value of supabase/config.toml (or `path`) that the
    local stack cannot use, so that it says so before it starts anything."""
    path = path or CONFIG_TOML
    auth_config(path)
    extra_search_path(read(path))
    seed_files(path.parent.parent)


def auth_config(path: Path | None = None) -> AuthConfig:
    """`[auth]` of supabase/config.toml (or `path`), as GoTrue gets it from `supabase start`."""
    path = path or CONFIG_TOML
    return AuthConfig.from_toml(read(path), path.parent)


def _table(parent: dict[str, Any], key: str, prefix: str = "") -> dict[str, Any]:
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"supabase/config.toml: [{prefix}{key}] must be a table")
    return value


def _value(table: dict[str, Any], key: str, kind: type, default: Any, prefix: str) -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind):
        raise ConfigError(f"supabase/config.toml: {prefix}{key} must be a"
                          f" {'boolean' if kind is bool else 'string'}, not {value!r}")
    return value


def _strings(table: dict[str, Any], key: str, default: tuple[str, ...], prefix: str
             ) -> tuple[str, ...]:
    """A list of strings as GoTrue gets it from `supabase start`: the CLI reads a string as
    its comma-separated parts and joins the list with commas into one variable, which
    GoTrue splits at every comma again (so no item can hold one)."""
    value = table.get(key, list(default))
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise ConfigError(f"supabase/config.toml: {prefix}{key} must be a list of strings,"
                          f" not {value!r}")
    return tuple(value.split(",")) if value else ()


def _duration(table: dict[str, Any], key: str, prefix: str) -> float:
    """A duration in seconds: a string, as the CLI takes it, that GoTrue's `time.Duration`
    settings read (`time.ParseDuration`: "24h", "1h30m"); 0 when absent or empty, and GoTrue
    takes 0 or less as no limit. GoTrue would not start with another string ("1d", "24"),
    though `supabase status` reads it."""
    value = table.get(key, "")
    if value == "":
        return 0.0
    seconds = parse_go_duration(value) if isinstance(value, str) else None
    if seconds is None:
        raise ConfigError(f'supabase/config.toml: {prefix}{key} must be a duration such as'
                          f' "24h" or "8h30m", not {value!r}')
    return max(0.0, seconds)


# `time.ParseDuration`'s units, in seconds
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0,
             "m": 60.0, "h": 3600.0}
_GO_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_go_duration(text: str) -> float | None:
    """Seconds of a duration as Go's `time.ParseDuration` reads it ("1h30m", "-1.5h", "0"),
    or None where it refuses it (no unit, an unknown unit, empty)."""
    sign, rest = (-1.0, text[1:]) if text.startswith("-") else (
        1.0, text[1:] if text.startswith("+") else text)
    if rest == "0":
        return 0.0
    if not rest:
        return None
    total, at = 0.0, 0
    while at < len(rest):
        part = _GO_DURATION.match(rest, at)
        if part is None or part[1] in ("", "."):
            return None
        total += float(part[1]) * _GO_UNITS[part[2]]
        at = part.end()
    return sign * total


def _count(table: dict[str, Any], key: str, default: int, prefix: str = "auth.") -> int:
    """A whole number of at least 0 (the CLI's `uint` fields), of `[auth]` or the table
    `prefix` names."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"supabase/config.toml: {prefix}{key} must be a whole number of at"
                          f" least 0, not {value!r}")
    return value
