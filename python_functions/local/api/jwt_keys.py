"""The project's JWT keys, as `supabase start` hands them out (the CLI's `internal/start` and
`pkg/config`, June 2026): GoTrue signs with them, publishes them and checks tokens with them;
PostgREST checks tokens with the JWKS the CLI makes of them.

* GoTrue (v2.196, `conf/jwk.go`, `tokens/service.go`) signs access tokens with the key whose
  `key_ops` has "sign" (the CLI's default ES256 key unless `[auth] signing_keys_path` names
  a file), its `kid` in the header, and publishes every key's public part at
  `/.well-known/jwks.json`. It takes a token by its `kid` (that key), else an HS256 token by
  the JWT secret (`parseJWTClaims`, gotrue_jwt.py), of the algorithms HS256, RS256 and
  ES256.
* PostgREST (v16.1 with jose-jwt 0.10: `Auth/Jwt.hs`, `Jose/Jwt.hs`) gets the public keys
  and, unless `signing_keys_path` is set, the JWT secret as an `oct` key (the CLI's
  `ResolveJWKS`). A token's header picks the keys it may be checked with (`canDecodeJws`:
  the `kid` when it has one, the key's `alg` when it has one, the key type the algorithm
  needs) and one of them must verify it. Its errors are jose's: a token that does not parse
  "JWT cryptographic operation failed", `alg: none` "Wrong or unsupported encoding
  algorithm", no key to try or none that verifies "No suitable key or wrong key type".
* The anon and service_role keys (`generateAPIKeys`): HS256 with the secret, or, when
  `signing_keys_path` is set, signed with its first key for ten years.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt.algorithms import get_default_algorithms

from python_functions.local import config
from python_functions.local.api import gotrue_jwt
from python_functions.local.config import AuthConfig, ConfigError
from python_functions.service.auth import api_key
from python_functions.service.settings import LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY

# jose-jwt's JWS algorithm names (`Jose/Jwa.hs`); a header with another, or with "enc" (a
# JWE), does not parse as a token of three parts
_JWS_ALGORITHMS = frozenset({"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
                             "ES256", "ES384", "ES512", "EdDSA"})
_KEY_TYPE = {"HS": "oct", "RS": "RSA", "ES": "EC", "Ed": "OKP"}  # by the algorithm's prefix
_PRIVATE_FIELDS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_TEN_YEARS_S = 10 * 365 * 24 * 3600


class PostgrestRefusal(Exception):
    """Why PostgREST's jose-jwt does not decode a token: `kind` is its error
    (`crypto`: BadCrypto, `algorithm`: BadAlgorithm, `key`: KeyError), `details` jose's
    own words where PostgREST shows them."""

    def __init__(self, kind: str, details: str | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.details = details


@dataclass(frozen=True)
class _Key:
    """One JWK of a JWKS: its header fields and, for checking, the key itself."""

    kty: str
    kid: str | None
    alg: str | None
    use: str | None
    key: Any

    @classmethod
    def of(cls, jwk: dict[str, Any], key: Any) -> _Key:
        return cls(str(jwk.get("kty")), jwk.get("kid"), jwk.get("alg"), jwk.get("use"), key)


def public_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    """A key's public part as GoTrue publishes it (jwx's `PublicKeyOf`): no private
    fields, `use: sig`, `key_ops: ["verify"]`."""
    public = {k: v for k, v in jwk.items() if k not in _PRIVATE_FIELDS}
    return dict(sorted((public | {"use": "sig", "key_ops": ["verify"]}).items()))


def _b64url(segment: bytes) -> bytes:
    """jose's `Base64URLUnpadded`: no padding, no other alphabet."""
    if b"=" in segment or len(segment) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return base64.b64decode(segment + b"=" * (-len(segment) % 4), altchars=b"-_",
                            validate=True)


def _signed(claims: dict[str, Any], jwk: dict[str, Any], key: Any) -> str:
    """`claims` signed with a private JWK (`key`, read from it), by its algorithm, its
    `kid` in the header."""
    headers = {"kid": jwk["kid"]} if "kid" in jwk else None
    return jwt.encode(claims, key, algorithm=jwk["alg"], headers=headers)


def _usable(jwks: Sequence[dict[str, Any]]) -> list[_Key]:
    """The keys of a fetched JWKS that can check a signature (one PyJWT cannot read, such
    as a certificate chain alone, is left out)."""
    keys = []
    for jwk in jwks:
        try:
            keys.append(_Key.of(jwk, jwt.PyJWK(jwk).key))
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
    return keys


def third_party_jwks(issuer: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """The keys of `[auth.third_party]`'s provider, found as `ResolveJWKS` finds them when
    `supabase start` starts: `{issuer}/.well-known/openid-configuration`, then its
    `jwks_uri`. `ConfigError` in the CLI's words when that fails."""
    discovery = issuer + "/.well-known/openid-configuration"

    def fetch(client: httpx.Client, url: str, key: str) -> Any:
        try:
            answer = client.get(url)
            answer.raise_for_status()
            return answer.json().get(key)
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise ConfigError(f"auth.third_party: {url}: {exc}") from None

    with httpx.Client(timeout=timeout_s) as client:
        jwks_uri = fetch(client, discovery, "jwks_uri")
        if not jwks_uri:
            raise ConfigError(f"auth.third_party: OIDC configuration at URL {discovery!r}"
                              " does not expose a jwks_uri property")
        keys = fetch(client, str(jwks_uri), "keys")
    if not isinstance(keys, list) or not keys:
        raise ConfigError(f"auth.third_party: JWKS at URL {jwks_uri!r} as discovered from"
                          f" {discovery!r} does not contain any JWK keys")
    return [key for key in keys if isinstance(key, dict)]


class ProjectKeys:
    """The keys of `auth` (what config.toml says) and the project's JWT secret: its
    `[auth] jwt_secret` when set, else `secret`."""

    def __init__(self, secret: str, auth: AuthConfig,
                 third_party: Sequence[dict[str, Any]] = ()) -> None:
        self.secret = secret = auth.jwt_secret or secret
        self.auth = auth
        # the new keys (`[auth] publishable_key`, `secret_key`, else the CLI's fixed ones)
        self.publishable_key = auth.publishable_key or LOCAL_PUBLISHABLE_KEY
        self.secret_key = auth.secret_key or LOCAL_SECRET_KEY
        self.keys = auth.signing_keys
        self.from_file = auth.keys_from_file
        self.signer = next(k for k in self.keys if "sign" in (k.get("key_ops") or ()))
        self._signer_key = jwt.PyJWK(self.signer).key
        public = [(k, jwt.PyJWK(public_jwk(k)).key) for k in self.keys]
        self._by_kid = {str(k["kid"]): key for k, key in public if "kid" in k}
        # what PostgREST gets from the CLI (`ResolveJWKS`): the third-party provider's keys,
        # the public keys (`ToPublicJWK` keeps their kid, use and alg), and, unless keys came
        # from a file, the secret as a key of no kid nor alg
        self._postgrest = [*_usable(third_party), *(_Key.of(k, key) for k, key in public)]
        if not self.from_file:
            self._postgrest.append(_Key("oct", None, None, None, secret.encode()))
        self._algorithms = get_default_algorithms()

    @classmethod
    def of_project(cls, secret: str) -> ProjectKeys:
        """The keys supabase/config.toml gives `make run`."""
        return cls(secret, config.auth_config())

    # -- what GoTrue and the CLI sign -------------------------------------------------

    def sign(self, claims: dict[str, Any]) -> str:
        """An access token as GoTrue's `SignJWT` makes it: the signing key's algorithm and
        `kid`."""
        return _signed(claims, self.signer, self._signer_key)

    def api_key(self, role: str, now: float | None = None) -> str:
        """The anon or service_role key `supabase start` prints: `[auth] anon_key` or
        `service_role_key` when set, else one it signs: HS256 with the secret (the CLI's
        fixed expiry), or with keys from a file their first one, for ten years."""
        configured = self.auth.anon_key if role == "anon" else self.auth.service_role_key
        if configured:
            return configured
        if not self.from_file:
            return api_key(role, self.secret)
        issued = int(now if now is not None else time.time())
        first = self.keys[0]
        return _signed({"iss": "supabase-demo", "role": role, "exp": issued + _TEN_YEARS_S},
                       first, jwt.PyJWK(first).key)

    def jwks(self) -> dict[str, Any]:
        """GoTrue's `/.well-known/jwks.json`: each key's public part (never the secret)."""
        return {"keys": [public_jwk(k) for k in self.keys]}

    def jwks_client(self) -> jwt.PyJWKClient:
        """A PyJWT JWKS client over these keys, without fetching anything."""
        keys = self.jwks()

        class Local(jwt.PyJWKClient):
            def fetch_data(self) -> Any:
                return keys

        return Local("http://local.invalid/jwks.json")  # never fetched

    # -- what GoTrue takes --------------------------------------------------------------

    def gotrue_claims(self, token: str, now: float | None = None) -> dict[str, Any]:
        """The claims of `token` as GoTrue's `parseJWTClaims` reads them (gotrue_jwt.py);
        `GotrueRefusal` in golang-jwt's words otherwise."""
        return gotrue_jwt.parse(token, self._gotrue_key, now)

    def _gotrue_key(self, header: dict[str, Any], algorithm: str) -> Any:
        """GoTrue's key function: the public key of the token's `kid`
        (`FindPublicKeyByKid`), else the JWT secret for HS256."""
        kid = header.get("kid")
        if isinstance(kid, str) and kid in self._by_kid:
            return self._by_kid[kid]
        if algorithm == "HS256":
            return self.secret.encode()
        raise gotrue_jwt.GotrueRefusal(
            f"unrecognized JWT kid {gotrue_jwt.go_value(kid)} for algorithm {algorithm}")

    # -- what PostgREST takes -----------------------------------------------------------

    def postgrest_payload(self, token: str) -> bytes:
        """The claims' bytes of a token of three parts, once jose-jwt has decoded it with
        PostgREST's JWKS (`Jose.Jwt.decode`); `PostgrestRefusal` says why not."""
        raw = token.encode()
        head, _, rest = raw.partition(b".")
        body, _, signature = rest.partition(b".")
        try:  # `Jose.Internal.Parser`: any fault of the form is BadCrypto
            header = json.loads(_b64url(head))
            if not isinstance(header, dict):
                raise ValueError("the header is not an object")
            algorithm = header.get("alg")
            if algorithm == "none":
                _b64url(body)
                raise PostgrestRefusal(
                    "algorithm", "JWT is unsecured but expected 'alg' was not 'none'")
            if "enc" in header or algorithm not in _JWS_ALGORITHMS:
                raise ValueError("a JWE, or no JWS algorithm")  # a JWE needs five parts
            kid = header.get("kid")
            if any(header.get(field) is not None and not isinstance(header.get(field), str)
                   for field in ("typ", "cty", "kid")):
                raise ValueError("a header field is not a string")
            payload = _b64url(body)
            signed = _b64url(signature)
        except (ValueError, TypeError, binascii.Error, RecursionError):
            raise PostgrestRefusal("crypto") from None
        usable = [k for k in self._postgrest
                  if k.use != "enc" and (kid is None or kid == k.kid)
                  and (k.alg is None or k.alg == algorithm)
                  and k.kty == _KEY_TYPE.get(algorithm[:2])]
        if not usable:
            raise PostgrestRefusal("key", "No suitable key was found to decode the JWT")
        verifier = self._algorithms.get(algorithm)
        signing_input = head + b"." + body
        for key in usable:
            try:
                if verifier is not None and verifier.verify(
                        signing_input, verifier.prepare_key(key.key), signed):
                    return payload
            except (ValueError, TypeError, jwt.PyJWTError):
                continue
        raise PostgrestRefusal("key", "None of the keys was able to decode the JWT")
