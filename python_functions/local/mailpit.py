"""The mail catcher of `make run`: what `supabase start` runs as Mailpit, for the mail Auth
sends (a magic link, a recovery link, a confirmation, a reauthentication code).

A local stand-in, mirroring Mailpit v1.22.3 (axllent/mailpit, the image of the Supabase CLI's
Dockerfile) where a test or a developer meets it:

* SMTP (aiosmtpd) on `[local_smtp] smtp_port`, 54325 unless set: it takes any message for any
  address, as Mailpit does, SMTPUTF8 (an address beyond ASCII) included. `supabase start`
  publishes this port only when `smtp_port` is set (its GoTrue reaches Mailpit inside
  Docker's network); here Auth runs on this machine, so the port is always open, on
  127.0.0.1.
* Mailpit's REST API (`server/apiv1`) on `[local_smtp] port` (54324), the parts a test reads a
  mail with (the `mailpit-api` client among them):
  - `GET /api/v1/messages?start=&limit=`: the newest first, 50 unless `limit` says, with
    `total`, `unread`, `count`, `messages_count`, `start`, `tags` and each message's summary
    (`ID`, `MessageID`, `Read`, `From`, `To`, `Cc`, `Bcc`, `ReplyTo`, `Subject`, `Created`,
    `Tags`, `Size`, `Attachments`, `Snippet`);
  - `GET /api/v1/search?query=`: the same, of the messages the query matches: words, each
    in the message's addresses, subject or text, and the filters `to:`, `from:`, `cc:`,
    `subject:`, `message-id:`, `is:read`, `is:unread`; `-` or `!` before one excludes;
    quotes keep words together. An empty query is 400 "Error: no search query";
  - `GET /api/v1/message/{ID}` (or `latest`, of a `query` when one is given): the message,
    its `Text` and `HTML`, marked read; an unknown ID 404 "404 page not found";
  - `GET /api/v1/message/{ID}/raw` and `/headers`; `GET /view/{ID}.html` and `.txt`;
  - `PUT /api/v1/messages` (`{"Read": bool, "IDs": [...]}`, all without IDs) and
    `DELETE /api/v1/messages` (`{"IDs": [...]}`, all without IDs), each answering `ok`;
    `DELETE /api/v1/search?query=`;
  - `GET /livez`, `GET /readyz`, and `GET /`: a page listing the messages, with links to
    each.

Not served: Mailpit's web app (the page here is a plain list), tags, attachments' parts,
the send and release APIs, HTML and link checks, websockets. Messages live in memory, the
newest 500 (Mailpit's default `--max`), and go when `make run` stops. A message with no
text part has a `Text` made from its HTML (tags dropped, a link's address after its words),
as Mailpit's MIME parser makes one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import html
import json
import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from python_functions.local import lifeline
from python_functions.service import logs, server

log = logging.getLogger("python_functions.local.mailpit")

MAX_MESSAGES = 500  # Mailpit's default --max: the oldest go first
DEFAULT_LIMIT = 50
_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # shortuuid's


@dataclass
class Stored:
    """One message as it came in, and what the API shows of it."""

    id: str
    raw: bytes
    created: datetime
    parsed: EmailMessage
    text: str
    html: str
    read: bool = False
    tags: list[str] = field(default_factory=list)

    def addresses(self, header: str) -> list[dict[str, str]]:
        """A header's addresses as Go's `mail.Address` marshals them."""
        values = self.parsed.get_all(header) or []
        return [{"Name": name, "Address": address}
                for name, address in getaddresses([str(v) for v in values]) if address]

    def summary(self) -> dict[str, Any]:
        """`storage.MessageSummary`."""
        sender = self.addresses("From")
        return {
            "ID": self.id, "MessageID": self.message_id(), "Read": self.read,
            "From": sender[0] if sender else None, "To": self.addresses("To"),
            "Cc": self.addresses("Cc"), "Bcc": self.addresses("Bcc"),
            "ReplyTo": self.addresses("Reply-To"), "Subject": self.subject(),
            "Created": _rfc3339(self.created), "Tags": self.tags,
            "Size": len(self.raw), "Attachments": 0, "Snippet": _snippet(self.text),
        }

    def message(self) -> dict[str, Any]:
        """`storage.Message`: the summary's addresses, its date, text and HTML."""
        sender = self.addresses("From")
        try:
            date = parsedate_to_datetime(str(self.parsed["Date"]))
        except (TypeError, ValueError):  # no Date header: when it came in
            date = self.created
        return {
            "ID": self.id, "MessageID": self.message_id(),
            "From": sender[0] if sender else None, "To": self.addresses("To"),
            "Cc": self.addresses("Cc"), "Bcc": self.addresses("Bcc"),
            "ReplyTo": self.addresses("Reply-To"),
            "ReturnPath": str(self.parsed["Return-Path"] or "").strip("<>")
            or (sender[0]["Address"] if sender else ""),
            "Subject": self.subject(),
            "ListUnsubscribe": {"Header": "", "Links": [], "Errors": "", "HeaderPost": ""},
            "Date": _rfc3339(date), "Tags": self.tags, "Text": self.text,
            "HTML": self.html, "Size": len(self.raw), "Inline": [], "Attachments": [],
        }

    def message_id(self) -> str:
        return str(self.parsed["Message-ID"] or "").strip().strip("<>")

    def subject(self) -> str:
        return str(self.parsed["Subject"] or "")

    def searchable(self) -> str:
        parts = [self.subject(), self.text, self.html]
        for header in ("From", "To", "Cc", "Bcc", "Reply-To"):
            parts += [f"{a['Name']} {a['Address']}" for a in self.addresses(header)]
        return "\n".join(parts).lower()


class Mailbox:
    """The messages, newest last in the dict, at most `MAX_MESSAGES`; shared by the SMTP
    handler and the API, which run on one event loop (the lock guards a thread that reads
    it in tests)."""

    def __init__(self, limit: int = MAX_MESSAGES) -> None:
        self.limit = limit
        self._messages: OrderedDict[str, Stored] = OrderedDict()
        self._lock = threading.Lock()

    def store(self, raw: bytes) -> str:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        html_body = html_part.get_content() if html_part is not None else ""
        text = text_part.get_content() if text_part is not None else _html_to_text(html_body)
        stored = Stored("".join(secrets.choice(_ID_ALPHABET) for _ in range(22)), raw,
                        datetime.now(UTC), parsed, text, html_body)
        with self._lock:
            self._messages[stored.id] = stored
            while len(self._messages) > self.limit:
                self._messages.popitem(last=False)
        log.info("mail caught", extra={"size": len(raw)})
        return stored.id

    def newest_first(self) -> list[Stored]:
        with self._lock:
            return list(reversed(self._messages.values()))

    def get(self, message_id: str) -> Stored | None:
        with self._lock:
            return self._messages.get(message_id)

    def delete(self, ids: list[str] | None) -> None:
        with self._lock:
            if ids is None:
                self._messages.clear()
            for message_id in ids or ():
                self._messages.pop(message_id, None)

    def stats(self) -> tuple[int, int]:
        with self._lock:
            return len(self._messages), sum(not m.read for m in self._messages.values())


class _Catcher:
    """aiosmtpd's handler: every message is kept, whoever it is for."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope
                          ) -> str:
        message_id = self.mailbox.store(_as_delivered(
            envelope.original_content or b"", envelope.mail_from or "",
            list(envelope.rcpt_tos)))
        return f"250 2.0.0 Ok: queued as {message_id}"


def _as_delivered(data: bytes, sender: str, recipients: list[str]) -> bytes:
    """What Mailpit's `smtpd` adds before it stores a message: `Return-Path` (the
    envelope's sender), a `Message-Id` when it has none, and a `Bcc` of the envelope's
    recipients its headers do not name."""
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    added = b""
    if sender and parsed["Return-Path"] is None:
        added += f"Return-Path: <{sender}>\r\n".encode()
    if not str(parsed["Message-Id"] or "").strip("<> "):
        fresh = "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))
        added += f"Message-Id: <{fresh}@mailpit>\r\n".encode()
    named = {address.lower() for header in ("To", "Cc", "Bcc")
             for _, address in getaddresses([str(v) for v in parsed.get_all(header) or []])}
    missing = [r for r in recipients if r.lower() not in named]
    if missing and parsed["Bcc"] is None:
        added += f"Bcc: {', '.join(missing)}\r\n".encode()
    return added + data


# -- search (`storage/search.go`) ------------------------------------------------------

_ARGS = re.compile(r'"([^"]*)"|(\S+)')
_FIELD_FILTERS = {"to:": ("To",), "from:": ("From",), "cc:": ("Cc",), "bcc:": ("Bcc",),
                  "reply-to:": ("Reply-To",), "addressed:": ("To", "From", "Cc", "Bcc")}


def _matches(message: Stored, query: str) -> bool:
    """Whether every term of `query` holds for the message (Mailpit ANDs its terms)."""
    for quoted, bare in _ARGS.findall(query):
        term = quoted or bare
        exclude = len(term) > 1 and term[0] in "-!"
        term = term[1:] if exclude else term
        if not re.search(r"[a-zA-Z0-9]", term):
            continue
        if _term_holds(message, term) == exclude:
            return False
    return True


def _term_holds(message: Stored, term: str) -> bool:
    lowered = term.lower()
    for prefix, headers in _FIELD_FILTERS.items():
        if lowered.startswith(prefix):
            wanted = _clean(term[len(prefix):]).lower()
            found = " ".join(f"{a['Name']} <{a['Address']}>".lower()
                             for header in headers for a in message.addresses(header))
            return wanted in found
    if lowered.startswith("subject:"):
        return _clean(term[8:]).lower() in message.subject().lower()
    if lowered.startswith("message-id:"):
        return _clean(term[11:]).lower() == message.message_id().lower()
    if lowered in ("is:read", "is:unread"):
        return message.read == (lowered == "is:read")
    return _clean(term).lower() in message.searchable()


def _clean(text: str) -> str:
    return text.strip().strip('"').strip()


# -- the API -----------------------------------------------------------------------------

def create_app(mailbox: Mailbox, smtp_host: str = "127.0.0.1", smtp_port: int | None = None
               ) -> Starlette:
    """The API on `mailbox`; with `smtp_port`, the SMTP server too, for the app's life."""
    # aiosmtpd logs each envelope's addresses at INFO; an address is a user's, not a log's
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        smtp: asyncio.base_events.Server | None = None
        if smtp_port is not None:
            loop = asyncio.get_running_loop()
            smtp = await loop.create_server(
                lambda: SMTP(_Catcher(mailbox), hostname="mailpit", ident="Mailpit",
                             enable_SMTPUTF8=True),
                host=smtp_host, port=smtp_port)
        try:
            yield
        finally:
            if smtp is not None:
                smtp.close()
                await smtp.wait_closed()

    def listing(request: Request, messages: list[Stored], matched: int) -> Response:
        start, limit = _start_limit(request)
        total, unread = mailbox.stats()
        page = messages[start:start + limit]
        return _json({"total": total, "unread": unread, "count": len(page),
                      "messages_count": matched, "start": start, "tags": [],
                      "messages": [m.summary() for m in page]})

    async def messages(request: Request) -> Response:
        every = mailbox.newest_first()
        if request.method == "GET":
            return listing(request, every, len(every))
        body = await _body(request)
        ids = body.get("IDs") if isinstance(body.get("IDs"), list) else None
        if request.method == "DELETE":
            mailbox.delete([str(i) for i in ids] if ids else None)
        else:  # PUT: the read status of the IDs, or of every message
            chosen = {str(i) for i in ids} if ids else None
            for message in every:
                if chosen is None or message.id in chosen:
                    message.read = body.get("Read") is True
        return PlainTextResponse("ok")

    async def search(request: Request) -> Response:
        query = request.query_params.get("query", "").strip()
        if not query:
            return PlainTextResponse("Error: no search query", 400)
        found = [m for m in mailbox.newest_first() if _matches(m, query)]
        if request.method == "DELETE":
            mailbox.delete([m.id for m in found])
            return PlainTextResponse("ok")
        return listing(request, found, len(found))

    def find(request: Request) -> Stored | Response:
        message_id = request.path_params["id"]
        if message_id == "latest":
            query = request.query_params.get("query", "").strip()
            newest = [m for m in mailbox.newest_first() if not query or _matches(m, query)]
            if not newest:
                return PlainTextResponse("Message not found", 404)
            return newest[0]
        found = mailbox.get(message_id)
        return found if found is not None else PlainTextResponse("404 page not found", 404)

    async def message(request: Request) -> Response:
        found = find(request)
        if isinstance(found, Response):
            return found
        found.read = True
        return _json(found.message())

    async def raw(request: Request) -> Response:
        found = find(request)
        if isinstance(found, Response):
            return found
        return Response(found.raw, media_type="text/plain; charset=utf-8")

    async def headers(request: Request) -> Response:
        found = find(request)
        if isinstance(found, Response):
            return found
        collected: dict[str, list[str]] = {}
        for name, value in found.parsed.items():
            collected.setdefault(name, []).append(str(value))
        return _json(dict(sorted(collected.items())))

    async def view(request: Request) -> Response:
        found = find(request)
        if isinstance(found, Response):
            return found
        if request.path_params["kind"] == "txt":
            return PlainTextResponse(found.text)
        return HTMLResponse(found.html)

    async def index(_request: Request) -> Response:
        rows = "".join(
            f"<tr><td>{html.escape(_rfc3339(m.created))}</td>"
            f"<td>{html.escape(', '.join(a['Address'] for a in m.addresses('To')))}</td>"
            f'<td><a href="view/{m.id}.html">{html.escape(m.subject() or "(no subject)")}'
            "</a></td></tr>" for m in mailbox.newest_first())
        return HTMLResponse(
            "<!doctype html><title>Mail caught by make run</title>"
            "<h1>Mail caught by <code>make run</code></h1>"
            "<p>What Supabase Auth sent; Mailpit's API is under <code>/api/v1</code>.</p>"
            f"<table><tr><th>Received</th><th>To</th><th>Subject</th></tr>{rows}</table>")

    async def ok(_request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route("/api/v1/messages", messages, methods=["GET", "PUT", "DELETE"]),
        Route("/api/v1/search", search, methods=["GET", "DELETE"]),
        Route("/api/v1/message/{id}", message, methods=["GET"]),
        Route("/api/v1/message/{id}/raw", raw, methods=["GET"]),
        Route("/api/v1/message/{id}/headers", headers, methods=["GET"]),
        Route("/view/{id}.{kind:str}", view, methods=["GET"]),
        Route("/livez", ok, methods=["GET"]),
        Route("/readyz", ok, methods=["GET"]),
        Route("/", index, methods=["GET"]),
    ], lifespan=lifespan)


def _start_limit(request: Request) -> tuple[int, int]:
    """`getStartLimit`: a start above 0 and a limit of 0 or more are taken, else 0 and 50."""
    def number(name: str) -> int | None:
        try:
            return int(request.query_params.get(name, ""))
        except ValueError:
            return None

    start, limit = number("start"), number("limit")
    return (start if start and start > 0 else 0,
            limit if limit is not None and limit > -1 else DEFAULT_LIMIT)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _json(value: Any) -> Response:
    # Go's json.Encoder: compact, with a newline
    return Response(json.dumps(value, separators=(",", ":")) + "\n",
                    media_type="application/json")


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _snippet(text: str) -> str:
    """`tools.CreateSnippet`: the text on one line, its spaces collapsed, up to 250
    characters (and an ellipsis when cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= 250 else flat[:250] + "..."


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str | None] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
        elif tag in ("br", "p", "div", "h1", "h2", "h3", "h4", "tr", "li"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.parts.append(f" ( {href} )")
        elif tag in ("p", "div", "h1", "h2", "h3", "h4"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _html_to_text(markup: str) -> str:
    if not markup:
        return ""
    parser = _TextOfHtml()
    parser.feed(markup)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n\n".join(line for line in lines if line)


def main(argv: list[str] | None = None) -> int:
    """`python -m python_functions.local.mailpit --port 54324 --smtp-port 54325`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=54324)
    parser.add_argument("--smtp-port", type=int, default=54325)
    args = parser.parse_args(argv)
    logs.configure()
    lifeline.watch()
    app = create_app(Mailbox(), args.host, args.smtp_port)
    uvicorn.Server(server.config(app, args.host, args.port)).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
