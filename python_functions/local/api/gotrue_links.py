"""What GoTrue's email links are made of (read at v2.196): the one-time code and the hash it
keeps of it, the link a mail would carry, and where it may send the browser after.

* `crypto.GenerateOtp`: `[auth.email] otp_length` random digits; `GenerateTokenHash`: the
  hex SHA-224 of the address and the code, which is what `auth.users` keeps (a PKCE
  flow's with `pkce_` before it).
* `GetEmailActionLink`: `<API_EXTERNAL_URL>/verify?token=<hash>&type=<type>&redirect_to=
  <referrer>`, the CLI setting every `GOTRUE_MAILER_URLPATHS_*` to Auth's `/verify`; the
  referrer is escaped only when it holds `&`, `=` or `#` (`encodeRedirectURL`).
* `IsRedirectURLValid` and `GetReferrer`: a URL may be sent to when it has the site URL's
  scheme, host and port (any port on a loopback host), or matches a pattern of `[auth]
  additional_redirect_urls` (`GOTRUE_URI_ALLOW_LIST`) as gobwas/glob matches it with `.`
  and `/` as separators: `*` and `?` stop at them, `**` does not, `[...]`/`[!...]`
  classes and `{a,b}` alternatives; a decimal host is never valid, an IP address only a
  loopback one, an http(s) URL's host only of letters, digits, dots and dashes. Hosts are
  compared without case here; Go compares them as written.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from functools import lru_cache
from urllib.parse import quote_plus, urlsplit

from starlette.requests import Request

from python_functions.local.config import AuthConfig

_DECIMAL_HOST = re.compile(r"[0-9]+")
_REGULAR_HOST = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?")
_LOCALHOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"})  # noqa: S104


def one_time_code(length: int) -> str:
    """`GenerateOtp`: `length` random decimal digits."""
    return "".join(secrets.choice("0123456789") for _ in range(length))


def token_hash(address: str, code: str) -> str:
    """`GenerateTokenHash`: what GoTrue keeps of a code sent to `address`."""
    return hashlib.sha224((address + code).encode()).hexdigest()


def pkce_verified(challenge: str, method: str, verifier: str) -> bool:
    """`VerifyPKCEChallenge`: the verifier's unpadded base64url SHA-256 (`s256`) or the
    verifier itself (`plain`) is the challenge, compared in constant time."""
    if method.lower() == "s256":
        digest = hashlib.sha256(verifier.encode()).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    elif method.lower() == "plain":
        expected = verifier
    else:
        return False
    return hmac.compare_digest(challenge.encode(), expected.encode())


def action_link(auth_url: str, hashed: str, kind: str, referrer: str) -> str:
    """The link a mail of this kind would carry (`GetEmailActionLink`, `getPath`)."""
    redirect = quote_plus(referrer) if any(c in referrer for c in "&=#") else referrer
    return f"{auth_url}/verify?token={quote_plus(hashed)}&type={quote_plus(kind)}" \
           f"&redirect_to={redirect}"


def referrer(request: Request, config: AuthConfig) -> str:
    """`GetReferrer`: the request's `redirect_to` (header, then query) or its Referer,
    where valid; else the site URL."""
    for candidate in (request.headers.get("redirect_to") or
                      request.query_params.get("redirect_to") or "",
                      request.headers.get("referer") or ""):
        if redirect_url_valid(candidate, config):
            return candidate
    return config.site_url


def _split(url: str) -> tuple[str, str, str] | None:
    """Scheme, host (lower-cased, without brackets) and port of a URL, or None where Go's
    `url.Parse` would refuse it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    return parts.scheme, parts.hostname or "", "" if port is None else str(port)


def _loopback(host: str) -> bool:
    host = host.lower()
    return host in _LOCALHOSTS or host.endswith(".localhost")


def redirect_url_valid(url: str, config: AuthConfig) -> bool:
    """`IsRedirectURLValid` against `[auth] site_url` and `additional_redirect_urls`."""
    if not url:
        return False
    base, given = _split(config.site_url), _split(url)
    if base is None or given is None:
        return False
    if base[1] == given[1] and base[0] == given[0] and (base[2] == given[2]
                                                       or _loopback(given[1])):
        return True
    if _DECIMAL_HOST.fullmatch(given[1]):
        return False
    try:
        return ipaddress.ip_address(given[1]).is_loopback
    except ValueError:
        pass
    if given[0].lower() in ("http", "https") and not _REGULAR_HOST.fullmatch(given[1]):
        return False
    without_fragment = url.partition("#")[0]
    return any(_glob(pattern).fullmatch(without_fragment)
               for pattern in config.additional_redirect_urls)


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """gobwas/glob's pattern (separators `.` and `/`) as a regular expression."""
    return re.compile(_glob_regex(pattern, 0, ())[0], re.DOTALL)


def _glob_regex(pattern: str, at: int, stops: tuple[str, ...]) -> tuple[str, int]:
    """The regex of `pattern` from `at` up to an unescaped character of `stops` (inside
    `{...}`: `,` and `}`), and where it stopped."""
    out: list[str] = []
    while at < len(pattern):
        char = pattern[at]
        if char in stops:
            break
        if char == "\\" and at + 1 < len(pattern):
            out.append(re.escape(pattern[at + 1]))
            at += 2
        elif pattern.startswith("**", at):
            out.append(".*")
            at += 2
        elif char == "*":
            out.append("[^./]*")
            at += 1
        elif char == "?":
            out.append("[^./]")
            at += 1
        elif char == "[" and (end := pattern.find("]", at + 2)) != -1:
            body = pattern[at + 1:end]
            negated = body.startswith("!")
            body = body[1:] if negated else body
            items = [re.escape(a) + ("-" + re.escape(b) if b else "")
                     for a, b in re.findall(r"(.)(?:-(.))?", body, re.DOTALL)]
            out.append(f"[{'^' if negated else ''}{''.join(items)}]")
            at = end + 1
        elif char == "{":
            options: list[str] = []
            at += 1
            while True:
                option, at = _glob_regex(pattern, at, (",", "}"))
                options.append(option)
                if at >= len(pattern) or pattern[at] == "}":
                    at += 1
                    break
                at += 1  # the comma
            out.append("(?:" + "|".join(options) + ")")
        else:
            out.append(re.escape(char))
            at += 1
    return "".join(out), at
