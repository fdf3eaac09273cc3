"""How GoTrue reads a bearer token, in its words: `parseJWTClaims` (`api/auth.go`, v2.196)
parses it with golang-jwt v5.3.1 (`parser.go`, `validator.go`) into its `AccessTokenClaims`
(`tokens/service.go`), and a refusal is 403 `bad_jwt` "invalid JWT: unable to parse or
verify signature, " followed by golang-jwt's error.

golang-jwt's steps, each with its own words: three parts; the header's base64url (no
padding) and JSON; the claims' base64url and JSON, each claim of its Go type; `alg` a
string it knows; the signature's base64url; `alg` one of the CLI's
`GOTRUE_JWT_VALID_METHODS`; GoTrue's key function (the key of the token's `kid`, else the
JWT secret for HS256); the signature; then `exp` and `nbf` (optional, no leeway). It checks
no audience, role or issuer: any token of the project's keys parses, and what it names is
checked after (`maybeLoadUserOrSession`: gotrue.py).

The words after "could not JSON decode header/claim: " are Go 1.26's encoding/json's for a
claim of the wrong type and an empty or cut-off segment. For another syntax fault they are
Go's words for the fault Python's decoder finds, which is not always the one Go's scanner
reports (`tru` is "unexpected end of JSON input" there, "invalid character 't' …" here).
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import get_default_algorithms

GOTRUE_METHODS = ("HS256", "RS256", "ES256")  # GOTRUE_JWT_VALID_METHODS as the CLI sets it
# what golang-jwt registers (`GetSigningMethod`)
_KNOWN_METHODS = frozenset({"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256",
                            "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA", "none"})
_BASE64URL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_VERIFY_ERRORS = {"HS256": "signature is invalid", "RS256": "crypto/rsa: verification error",
                  "ES256": "crypto/ecdsa: verification error"}
_KEY_TYPE_ERRORS = {"HS256": "HMAC verify expects []byte",
                    "RS256": "RSA verify expects *rsa.PublicKey",
                    "ES256": "ECDSA verify expects *ecdsa.PublicKey"}
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_GO_STRING = "string"
_GO_DATE = "NumericDate"
_GO_MAP = "map[string]interface {}"
# AccessTokenClaims' fields by their JSON names: the embedded RegisteredClaims' (named so
# in Go 1.24+'s type errors), then GoTrue's own
_CLAIM_TYPES: dict[str, tuple[str, str]] = {
    **{name: ("RegisteredClaims." + name, go_type) for name, go_type in (
        ("iss", _GO_STRING), ("sub", _GO_STRING), ("aud", "ClaimStrings"), ("exp", _GO_DATE),
        ("nbf", _GO_DATE), ("iat", _GO_DATE), ("jti", _GO_STRING))},
    **{name: (name, go_type) for name, go_type in (
        ("email", _GO_STRING), ("phone", _GO_STRING), ("app_metadata", _GO_MAP),
        ("user_metadata", _GO_MAP), ("role", _GO_STRING), ("aal", _GO_STRING),
        ("amr", "AMRClaim"), ("session_id", _GO_STRING), ("is_anonymous", "bool"),
        ("client_id", _GO_STRING), ("scope", _GO_STRING))},
}


class GotrueRefusal(Exception):
    """golang-jwt's error for a token GoTrue does not take."""


class _GoJsonError(Exception):
    """encoding/json's error, in its words."""


# -----------------------------------------------------------------------------------------
# Go's base64 and JSON, as far as their errors show
# -----------------------------------------------------------------------------------------

def _base64url(segment: str) -> bytes:
    """`DecodeSegment`: `base64.RawURLEncoding` (no padding; not strict, so unused trailing
    bits pass); a fault is "illegal base64 data at input byte N"."""
    raw = segment.encode()
    for position, byte in enumerate(raw):
        if byte not in _BASE64URL and byte not in b"\r\n":
            raise _GoJsonError(f"illegal base64 data at input byte {position}")
    data = bytes(b for b in raw if b in _BASE64URL)
    if len(data) % 4 == 1:
        raise _GoJsonError(f"illegal base64 data at input byte {len(raw) - 1}")
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


def _quote_char(char: str) -> str:
    """encoding/json's `quoteChar`."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + json.dumps(char)[1:-1] + "'"


def _open_container(text: str, end: int) -> str:
    """The innermost `{` or `[` still open at `end` (strings skipped)."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text[:end]:
        if in_string:
            escaped = not escaped and char == "\\"
            in_string = escaped or char != '"'
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON to Go


class _Object(list[tuple[str, Any]]):
    """A decoded JSON object: its pairs in order, a repeated name included."""


def _decode(data: bytes) -> Any:
    """`json.Unmarshal`'s view of `data`: the value, objects as `_Object`, or
    `_GoJsonError` in Go's words."""
    text = data.decode("utf-8", "replace")  # Go reads invalid UTF-8 as U+FFFD
    try:
        return json.loads(text, object_pairs_hook=_Object, parse_constant=_refuse_constant)
    except RecursionError:  # Go's limit is deeper (10,000); the words are its
        raise _GoJsonError("exceeded max depth") from None
    except json.JSONDecodeError as fault:
        position, message = fault.pos, fault.msg
    except ValueError as constant:  # NaN, Infinity
        position, message = text.index(str(constant)), "Expecting value"
    if position >= len(text) or message.startswith("Unterminated string"):
        raise _GoJsonError("unexpected end of JSON input")
    char = text[position]
    if message.startswith("Invalid \\escape"):
        if position + 1 >= len(text):
            raise _GoJsonError("unexpected end of JSON input")
        context, char = "in string escape code", text[position + 1]
    elif message == "Expecting ',' delimiter":
        context = ("after array element" if _open_container(text, position) == "["
                   else "after object key:value pair")
    else:
        context = next((go for python, go in _SYNTAX_CONTEXTS.items()
                        if message.startswith(python)), "looking for beginning of value")
    raise _GoJsonError(f"invalid character {_quote_char(char)} {context}")


# Python's words for a syntax fault, and Go's for the same fault at the same offset
_SYNTAX_CONTEXTS = {
    "Expecting value": "looking for beginning of value",
    "Expecting property name enclosed in double quotes":
        "looking for beginning of object key string",
    "Expecting ':' delimiter": "after object key",
    "Extra data": "after top-level value",
    "Invalid control character": "in string literal",
}


def _kind(value: Any) -> str:
    """The JSON kind encoding/json names in a type error."""
    if isinstance(value, _Object):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, int | float) else "string"


def _plain(value: Any) -> Any:
    """Objects back to dicts (the last of a repeated name, as Go keeps it)."""
    if isinstance(value, _Object):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def go_value(value: Any) -> str:
    """Go's `%v` of a decoded JSON value (float64, bool, string, nil, []any, map)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        number = float(value)
        if number.is_integer() and abs(number) < 1e21:
            return str(int(number))
        return repr(number)
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(v)}" for k, v in sorted(value.items())) + "]"
    return "[" + " ".join(go_value(v) for v in value) + "]"


# -----------------------------------------------------------------------------------------
# AccessTokenClaims
# -----------------------------------------------------------------------------------------

def _claim_error(name: str, value: Any) -> str | None:
    """encoding/json's error for one claim of `AccessTokenClaims`, or None."""
    field, go_type = _CLAIM_TYPES[name]
    kind = _kind(value)
    mismatch = f"json: cannot unmarshal {kind} into Go struct field AccessTokenClaims.{field}"
    if value is None:
        return None
    if go_type == _GO_STRING:
        return None if kind == "string" else f"{mismatch} of type string"
    if go_type == "bool":
        return None if kind == "bool" else f"{mismatch} of type bool"
    if go_type == _GO_MAP:
        return None if kind == "object" else f"{mismatch} of type {_GO_MAP}"
    if go_type == _GO_DATE:  # `NumericDate.UnmarshalJSON` into a json.Number ("NumericData" sic)
        if kind == "number":
            return None
        if kind == "string":
            if _JSON_NUMBER.fullmatch(value):
                return None
            quoted = json.dumps(value)
            return ("could not parse NumericData: json: invalid number literal, trying to"
                    f" unmarshal {json.dumps(quoted)} into Number")
        return ("could not parse NumericData: json: cannot unmarshal"
                f" {kind} into Go value of type json.Number")
    if go_type == "ClaimStrings":
        if kind == "string" or (kind == "array" and all(isinstance(v, str) for v in value)):
            return None
        return "invalid type for claim"
    # AMRClaim: an array of method names or AMREntry objects
    if kind != "array":
        return f"json: cannot unmarshal {kind} into Go value of type []json.RawMessage"
    for item in value:
        if _kind(item) not in ("string", "object"):
            return f"json: cannot unmarshal {_kind(item)} into Go value of type models.AMREntry"
    return None


def _claims(data: bytes) -> dict[str, Any]:
    """The claims as GoTrue reads them: its fields by their names (matched without regard
    to case, as encoding/json matches them), and the rest as they are."""
    decoded = _decode(data)
    if not isinstance(decoded, _Object):
        if decoded is None:
            return {}
        raise _GoJsonError(f"json: cannot unmarshal {_kind(decoded)} into Go value of type"
                           " tokens.AccessTokenClaims")
    claims: dict[str, Any] = {}
    first_error = None
    for name, value in decoded:
        field = name if name in _CLAIM_TYPES else name.lower()
        if field in _CLAIM_TYPES:
            go_type = _CLAIM_TYPES[field][1]
            error = _claim_error(field, value)
            first_error = first_error or error
            if error is None and not (value is None and go_type in (_GO_STRING, "bool")):
                claims[field] = _plain(value)  # null leaves a string or bool as it was
        else:
            claims[name] = _plain(value)
    if first_error:
        raise _GoJsonError(first_error)
    for name in ("exp", "nbf", "iat"):
        if isinstance(claims.get(name), str):
            claims[name] = float(claims[name])
    return claims


# -----------------------------------------------------------------------------------------
# The parse
# -----------------------------------------------------------------------------------------

KeyFunction = Callable[[dict[str, Any], str], Any]
_T = TypeVar("_T")


def parse(token: str, key_of: KeyFunction, now: float | None = None) -> dict[str, Any]:
    """The claims of `token`, as `parseJWTClaims` takes it; `key_of(header, alg)` is its
    key function (a key, or `GotrueRefusal` with its reason); else `GotrueRefusal` with
    golang-jwt's words."""
    parts = token.split(".")
    if len(parts) != 3:
        raise GotrueRefusal("token is malformed: token contains an invalid number of segments")
    header_bytes = _malformed("base64 decode header", _base64url, parts[0])
    header = _malformed("JSON decode header", _header, header_bytes)
    claims = _malformed("JSON decode claim", _claims,
                        _malformed("base64 decode claim", _base64url, parts[1]))
    algorithm = header.get("alg")
    if not isinstance(algorithm, str):
        raise GotrueRefusal("token is unverifiable: signing method (alg) is unspecified")
    if algorithm not in _KNOWN_METHODS:
        raise GotrueRefusal("token is unverifiable: signing method (alg) is unavailable")
    signature = _malformed("base64 decode signature", _base64url, parts[2])
    if algorithm not in GOTRUE_METHODS:
        raise GotrueRefusal(f"token signature is invalid: signing method {algorithm} is invalid")
    try:
        key = key_of(header, algorithm)
    except GotrueRefusal as refusal:
        raise GotrueRefusal(
            f"token is unverifiable: error while executing keyfunc: {refusal}") from None
    _verify(algorithm, (parts[0] + "." + parts[1]).encode(), signature, key)
    _validate(claims, time.time() if now is None else now)
    return claims


def _malformed(what: str, step: Callable[[Any], _T], argument: Any) -> _T:
    """`step(argument)`; its fault as golang-jwt's "token is malformed: could not …"."""
    try:
        return step(argument)
    except _GoJsonError as fault:
        raise GotrueRefusal(f"token is malformed: could not {what}: {fault}") from None


def _header(data: bytes) -> dict[str, Any]:
    """The header as a `map[string]interface{}` (null leaves it empty)."""
    decoded = _decode(data)
    if decoded is not None and not isinstance(decoded, _Object):
        raise _GoJsonError(f"json: cannot unmarshal {_kind(decoded)} into Go value of type"
                           " map[string]interface {}")
    header: dict[str, Any] = _plain(decoded) or {}
    return header


_ALGORITHMS = get_default_algorithms()
_KEY_CLASSES: dict[str, type | tuple[type, ...]] = {
    "HS256": bytes, "RS256": rsa.RSAPublicKey, "ES256": ec.EllipticCurvePublicKey}


def _verify(algorithm: str, signing_input: bytes, signature: bytes, key: Any) -> None:
    """`Method.Verify`: the key's type first, then the signature."""
    if not isinstance(key, _KEY_CLASSES[algorithm]):
        raise GotrueRefusal("token signature is invalid: key is of invalid type: "
                            + _KEY_TYPE_ERRORS[algorithm])
    verifier = _ALGORITHMS[algorithm]
    try:  # ECDSA wants r and s of 32 bytes each (`2*m.KeySize`); PyJWT would read DER too
        valid = (algorithm != "ES256" or len(signature) == 64) and verifier.verify(
            signing_input, key, signature)
    except (ValueError, TypeError, jwt.PyJWTError):
        valid = False
    if not valid:
        raise GotrueRefusal("token signature is invalid: " + _VERIFY_ERRORS[algorithm])


def _validate(claims: dict[str, Any], now: float) -> None:
    """`Validator.Validate`: `exp` and `nbf` when present (NumericDate keeps whole seconds),
    every fault joined with ", "."""
    faults = []
    expires = claims.get("exp")
    if expires is not None and not now < _seconds(expires):
        faults.append("token is expired")
    not_before = claims.get("nbf")
    if not_before is not None and now < _seconds(not_before):
        faults.append("token is not valid yet")
    if faults:
        raise GotrueRefusal("token has invalid claims: " + ", ".join(faults))


def _seconds(value: float) -> float:
    """`newNumericDateFromSeconds` truncated to `TimePrecision` (a second)."""
    return float(math.floor(value)) if math.isfinite(value) else value
