"""`helpdesk local`: the local stack behind real sockets, on 127.0.0.1 only.

- HTTP: the template's API routes (``/form``, ``/tickets``, ``/survey/{token}``,
  ``/answer/{token}``, ``/agent/...``) answered by the functions, as API Gateway would;
  plus developer pages under ``/_local/``: ``state`` (the state JSON), ``clock`` (the
  stack's time alone, ``{"clock": ...}``), ``advance`` (POST ``{"by": "1h"}``, or the outbox
  page's form; GET explains it), ``outbox`` and ``tickets``.
- SMTP: every accepted message is delivered as SES would (its verdict and authentication
  headers on top, stored in the bucket, the queue notified), then the queues drain.
- Time: the stack's clock runs at ``speed`` times real time; schedules fire as it passes
  them.
- The terminal: one line per thing that happened (a ticket opened, a mail sent and to
  whom, an SLA warning or breach), told by :class:`helpdesk_local.narration.Narrator`
  after every request, mail and tick.

The stack is single-threaded (moto, the functions' environment, the clock seam), so every
request, mail and tick takes one lock.
"""

from __future__ import annotations

import errno
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

if TYPE_CHECKING:
    import jinja2

    from helpdesk_local.narration import Narrator
    from helpdesk_local.stack import HttpResponse, LocalStack

HOST = "127.0.0.1"
# API Gateway refuses payloads above 10 MB (HTTP API quota); so does the local server.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
TICK_SECONDS = 1.0
PAGES_DIR = Path(__file__).parent / "pages"
_URL = re.compile(r"https?://[^\s\"'<>]+")
# The pages whose clock form may send the browser back to them after moving the clock.
_CLOCK_PAGES = frozenset({"/_local/outbox", "/_local/tickets", "/_local/advance"})
# How long the agent API tokens the banner prints are accepted. The local authorizer checks
# their expiry against the machine's clock, not the stack's, so /_local/advance does not
# age them; a month outlasts any session of `helpdesk local`.
BANNER_TOKEN_LIFETIME = timedelta(days=30)


@dataclass
class LocalServer:
    """A running `helpdesk local`: its addresses, and :meth:`stop` to end it cleanly."""

    stack: LocalStack
    http_port: int
    smtp_port: int
    speed: float
    lock: threading.RLock
    _httpd: ThreadingHTTPServer
    _smtp: Any
    narrator: Narrator | None = None
    trust_local_agents: bool = False
    _threads: list[threading.Thread] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        """Base URL of the HTTP server, e.g. ``http://127.0.0.1:8080``."""
        return f"http://{HOST}:{self.http_port}"

    def urls(self) -> dict[str, str]:
        """What a developer opens, by name."""
        return {
            "form": f"{self.url}/form",
            "outbox": f"{self.url}/_local/outbox",
            "tickets": f"{self.url}/_local/tickets",
            "state": f"{self.url}/_local/state",
            "advance": f"{self.url}/_local/advance",
            "smtp": f"smtp://{HOST}:{self.smtp_port}",
        }

    def stop(self) -> None:
        """Stop the clock, both listeners and the stack; safe to call twice."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._smtp.stop()
        for thread in self._threads:
            thread.join(timeout=30)
        with self.lock:
            self.stack.stop()


def _check_free(port: int, flag: str) -> None:
    """PortUnavailable at once when ``port`` is taken: aiosmtpd's Controller only says so
    after waiting its whole start-up timeout."""
    with socket.socket() as probe:
        # As asyncio's server binds on POSIX: a port left in TIME_WAIT by the last run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise PortUnavailable(port, flag, error) from error


class PortUnavailable(OSError):
    """A port the local desk cannot listen on, named with the flag that moves it."""

    def __init__(self, port: int, flag: str, cause: OSError) -> None:
        taken = cause.errno == errno.EADDRINUSE or "in use" in str(cause)
        reason = "is in use" if taken else f"cannot be listened on ({cause.strerror or cause})"
        super().__init__(f"{HOST} port {port} {reason}: give {flag} N for another")


def serve(
    *,
    port: int = 8080,
    smtp_port: int = 2525,
    speed: float = 1.0,
    start: datetime | None = None,
    config_path: Path | None = None,
    fault_rate: float = 0.0,
    trust_local_agents: bool = False,
    narrate: Callable[[str], None] | None = None,
) -> LocalServer:
    """Start a local stack and serve it on 127.0.0.1; returns once both listeners accept.

    ``port`` or ``smtp_port`` 0 picks a free port (tests). ``speed`` is how many seconds of
    stack time pass per second of wall time (0 stops the clock; ``POST /_local/advance``
    still moves it). ``fault_rate`` injects AWS faults, as a scenario's ``faults.rate``.
    ``trust_local_agents`` stamps mail to the SMTP port as authenticated for its From
    domain, so that a developer can act as an agent by hand (see :class:`SesDelivery`).
    ``narrate`` is given one line per thing that happens on the stack (the terminal's).
    """
    from aiosmtpd.controller import Controller

    from helpdesk_local.narration import Narrator
    from helpdesk_local.stack import LocalStack

    if speed < 0:
        raise ValueError("speed must not be negative")
    stack = LocalStack(start=start, config_path=config_path, fault_rate=fault_rate)
    stack.start()
    lock = threading.RLock()
    narrator = (
        Narrator(stack, narrate, agent_mail_trusted=trust_local_agents)
        if narrate is not None
        else None
    )
    httpd: ThreadingHTTPServer | None = None
    try:
        try:
            httpd = ThreadingHTTPServer((HOST, port), _handler_class(stack, lock, narrator))
        except OSError as error:
            raise PortUnavailable(port, "--port", error) from error
        httpd.daemon_threads = True
        if smtp_port:
            _check_free(smtp_port, "--smtp-port")
        smtp = Controller(
            SesDelivery(stack, lock, trust_local_agents=trust_local_agents, narrator=narrator),
            hostname=HOST,
            port=smtp_port or _free_port(),
            enable_SMTPUTF8=True,
            decode_data=False,
        )
        try:
            smtp.start()
        except OSError as error:
            raise PortUnavailable(smtp.port, "--smtp-port", error) from error
    except BaseException:
        if httpd is not None:
            httpd.server_close()
        stack.stop()
        raise
    server = LocalServer(
        stack=stack,
        http_port=httpd.server_address[1],
        smtp_port=smtp.port,
        speed=speed,
        lock=lock,
        _httpd=httpd,
        _smtp=smtp,
        narrator=narrator,
        trust_local_agents=trust_local_agents,
    )
    http_thread = threading.Thread(target=httpd.serve_forever, name="helpdesk-http", daemon=True)
    clock_thread = threading.Thread(
        target=_run_clock, args=(server,), name="helpdesk-clock", daemon=True
    )
    server._threads.extend([http_thread, clock_thread])
    http_thread.start()
    clock_thread.start()
    return server


def run_local(
    *,
    port: int,
    smtp_port: int,
    speed: float,
    config_path: Path | None = None,
    fault_rate: float = 0.0,
    trust_local_agents: bool = False,
) -> int:
    """The `helpdesk local` command: serve until Ctrl-C, then stop cleanly."""
    try:
        server = serve(
            port=port,
            smtp_port=smtp_port,
            speed=speed,
            config_path=config_path,
            fault_rate=fault_rate,
            trust_local_agents=trust_local_agents,
            narrate=_say,
        )
    except PortUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: cannot listen on {HOST}: {error}", file=sys.stderr)
        return 1
    for line in banner(server):
        print(line)
    try:
        # Inside the try: a Ctrl-C that arrives as soon as this line is read still stops
        # the server cleanly.
        print("What happens is told below, one line each. Ctrl-C stops it.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        server.stop()
    print("stopped")
    return 0


def banner(server: LocalServer) -> list[str]:
    """What `helpdesk local` prints when it starts: the clock, the addresses, whether mail
    from an agent's address is taken as the agent's, and one agent API token per agent and
    lead (``Authorization: Bearer ...``, docs/AGENT_API.md), one line each."""
    from helpdesk.config import load_config

    lines = [
        f"helpdesk local: clock at {server.stack.clock.peek().isoformat()}, x{server.speed:g} speed"
    ]
    lines += [f"  {name:<8} {url}" for name, url in server.urls().items()]
    if server.trust_local_agents:
        lines.append(
            "  agent mail: trusted (--trust-local-agents): mail to the SMTP port is stamped as"
            " authenticated for its From domain, anyone who can reach it may act as an agent"
        )
    else:
        lines.append(
            "  agent mail: not trusted, an agent's mail opens a spoofed ticket"
            " (restart with --trust-local-agents to answer as an agent)"
        )
    config = load_config(server.stack.config_path)
    staff = [agent.email for agent in config.agents]
    staff += [lead for team in config.teams for lead in team.leads if lead not in staff]
    until = datetime.now(UTC) + BANNER_TOKEN_LIFETIME
    lines.append(f"agent API (docs/AGENT_API.md), tokens valid until {until:%Y-%m-%d}:")
    width = max((len(email) for email in dict.fromkeys(staff)), default=0)
    for email in dict.fromkeys(staff):
        token = server.stack.agent_token(email, lifetime=BANNER_TOKEN_LIFETIME)
        lines.append(f"  {email:<{width}}  Authorization: Bearer {token}")
    return lines


def _say(line: str) -> None:
    print(line, flush=True)


def tell(narrator: Narrator | None) -> None:
    """Have ``narrator`` say what happened; a failure to tell never fails the stack."""
    if narrator is None:
        return
    try:
        narrator.narrate()
    except Exception:
        traceback.print_exc()


def _free_port() -> int:
    # aiosmtpd's controller checks readiness by connecting to the port it was given, so it
    # needs a real number, not 0.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _run_clock(server: LocalServer) -> None:
    """Advance the stack by ``speed`` times the wall time that passed, once a second."""
    last = time.monotonic()
    while not server._stopping.wait(TICK_SECONDS):
        now = time.monotonic()
        elapsed, last = now - last, now
        if server.speed == 0:
            continue
        with server.lock:
            if server._stopping.is_set():
                return
            try:
                server.stack.advance(timedelta(seconds=elapsed * server.speed))
            except Exception:
                traceback.print_exc()
            tell(server.narrator)


# ---------------------------------------------------------------------- SMTP
class SesDelivery:
    """aiosmtpd handler that takes mail in the way SES's receipt rule does.

    Recipients outside the mail domain are refused at RCPT time (the receipt rule lists only
    that domain); an accepted message gets SES's verdict and authentication headers on
    top and is stored in the bucket, whose notification queues it for intake.

    The authentication headers are what SES would stamp for this connection: a client on
    127.0.0.1 that signs nothing and that no SPF record names. So nothing passes, and a
    mail whose From is an agent's address has no agent power, exactly as a forged one
    would have in production. With ``trust_local_agents`` (``helpdesk local
    --trust-local-agents``) every message is stamped as SPF, DKIM and DMARC pass for its
    From domain instead, so a developer can write as an agent from a mail client.
    """

    def __init__(
        self,
        stack: LocalStack,
        lock: threading.RLock,
        *,
        trust_local_agents: bool = False,
        narrator: Narrator | None = None,
    ) -> None:
        self.stack = stack
        self.lock = lock
        self.trust_local_agents = trust_local_agents
        self.narrator = narrator
        assert stack.resolver is not None
        self.domain = str(stack.resolver.parameters["MailDomain"]).lower()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if domain != self.domain and not domain.endswith("." + self.domain):
            return f"550 5.1.1 {address}: this server receives mail for {self.domain} only"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        connection = Connection(
            sender=str(envelope.mail_from or ""),
            client_ip=str(session.peer[0]) if session.peer else HOST,
            helo=str(session.host_name or ""),
        )
        # The intake is slow next to the SMTP loop: run it off the loop's thread.
        await asyncio.get_running_loop().run_in_executor(None, self.deliver, connection, data)
        return "250 2.0.0 Ok: queued"

    def deliver(self, connection: Connection, raw: bytes) -> str:
        """Deliver one message as SES would, then run the queues dry; returns the S3 key."""
        stamped = with_ses_headers(
            raw, connection, mail_domain=self.domain, trusted=self.trust_local_agents
        )
        with self.lock:
            key = self.stack.deliver_email(stamped)
            self.stack.drain()
            tell(self.narrator)
            return key


@dataclass(frozen=True)
class Connection:
    """What SES knows of an SMTP client when it stamps its verdicts."""

    sender: str  # MAIL FROM, "" for the null reverse-path
    client_ip: str = HOST
    helo: str = ""


_HELO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\]")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,252})")


def with_ses_headers(
    raw: bytes, connection: Connection, *, mail_domain: str, trusted: bool = False
) -> bytes:
    """``raw`` with the headers SES's receipt action puts on top of it, in SES's layout
    (AWS SES Developer Guide, "Sample incoming email event"): its spam and virus verdicts
    (PASS: nothing local scans), ``Received-SPF`` and ``Authentication-Results``.

    Untrusted (the default), the verdicts are those SES gives a client that signs nothing
    from an address no SPF record lists: SPF ``fail`` when the envelope names the desk's
    own domain (its record lists SES, not this machine) and ``none`` for any other domain
    (nothing is looked up locally), DKIM ``none``, DMARC ``fail`` for a From in the desk's
    own domain (the deployer publishes a policy there, docs/SECURITY.md) and ``none``
    otherwise. ``trusted`` stamps pass for all three, aligned with the From domain.
    """
    from helpdesk.mail.auth import aligned

    sender, envelope_domain = _envelope(connection.sender)
    helo = connection.helo if _HELO.fullmatch(connection.helo) else "unknown"
    ip = _one_line(connection.client_ip)
    from_domain = _from_domain(raw)
    identity = f"client-ip={ip}; envelope-from={sender}; helo={helo};"
    checked = envelope_domain or helo
    if trusted:
        spf = f"pass (spfCheck: domain of {checked} designates {ip} as permitted sender)"
        dkim = f"pass header.i=@{from_domain}" if from_domain else "none"
        dmarc = "pass"
    else:
        if envelope_domain and aligned(envelope_domain, mail_domain):
            refused = f"does not designate {ip} as permitted sender"
            spf = f"fail (spfCheck: domain of {checked} {refused})"
        else:
            spf = f"none (spfCheck: {ip} is neither permitted nor denied by domain of {checked})"
        dkim = "none"
        dmarc = "fail" if from_domain and aligned(from_domain, mail_domain) else "none"
    dmarc_part = f"dmarc={dmarc} header.from={from_domain};" if from_domain else f"dmarc={dmarc};"
    top = {
        "X-SES-Spam-Verdict": "PASS",
        "X-SES-Virus-Verdict": "PASS",
        "Received-SPF": f"{spf} {identity}",
        "Authentication-Results": f"amazonses.com; spf={spf} {identity} dkim={dkim}; {dmarc_part}",
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in top.items())
    return head.encode("utf-8") + raw


def _from_domain(raw: bytes) -> str:
    """The domain of the first address in the message's first From header, lower case, or
    "" when there is none that looks like a domain."""
    from email.parser import BytesHeaderParser
    from email.policy import compat32
    from email.utils import getaddresses

    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    values = [str(value) for value in headers.get_all("From") or []][:1]
    addresses = getaddresses(values)
    domain = addresses[0][1].rpartition("@")[2].lower() if addresses else ""
    return domain if _DOMAIN.fullmatch(domain) else ""


_ATEXT_DOT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")


def _envelope(path: str) -> tuple[str, str]:
    """The envelope sender as SES writes it (RFC 5321 section 4.1.2: a local part that is
    not a dot-string is a quoted string) and its domain; ("", "") for the null path."""
    address = _one_line(path.strip().removeprefix("<").removesuffix(">"))
    if not address:
        return "", ""
    local, at, domain = address.rpartition("@")
    domain = domain.lower()
    if not at or not _DOMAIN.fullmatch(domain):
        local, domain = address, ""
    if not _ATEXT_DOT.fullmatch(local):
        body = local[1:-1] if len(local) > 1 and local[0] == local[-1] == '"' else local
        body = body.replace("\\", "").replace('"', "")
        local = f'"{body}"'
    return (f"{local}@{domain}" if domain else local), domain


def _one_line(text: str) -> str:
    # Header values written here never carry a line break (no header injection).
    return "".join(char for char in text if char >= " " and char != "\x7f")


# ---------------------------------------------------------------------- HTTP
def _handler_class(
    stack: LocalStack, lock: threading.RLock, narrator: Narrator | None = None
) -> type[BaseHTTPRequestHandler]:
    class Handler(LocalRequestHandler):
        pass

    Handler.stack = stack
    Handler.lock = lock
    Handler.narrator = narrator
    return Handler


class LocalRequestHandler(BaseHTTPRequestHandler):
    """One HTTP request: a ``/_local/`` page, or an API route answered by the stack."""

    stack: ClassVar[LocalStack]
    lock: ClassVar[threading.RLock]
    narrator: ClassVar[Narrator | None] = None
    server_version = "helpdesk-local"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        # Stamped with the desk's clock, as the narration's lines are (first-user run 15).
        from datetime import UTC

        now = self.stack.clock.peek().astimezone(UTC)
        sys.stderr.write(f"{now:%Y-%m-%d %H:%MZ}  {self.address_string()} {format % args}\n")

    def log_error(self, format: str, *args: Any) -> None:
        # The failed request's own line says it (log_request): once, not twice.
        return

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The log is one line per event (README, `helpdesk local`): a page view, a favicon,
        # a poll of the state is none; a request that failed is worth a line.
        if isinstance(code, int) and code >= 400:  # an HTTPStatus is an int too
            super().log_request(code, size)

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        try:
            body = self._read_body()
        except ValueError as error:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _json_body({"message": str(error)}))
            return
        local_pages: dict[tuple[str, str], Callable[[bytes], tuple[int, dict[str, str], str]]] = {
            ("GET", "/"): self._home,
            ("GET", "/favicon.ico"): self._no_icon,
            ("GET", "/_local/state"): self._state,
            ("GET", "/_local/clock"): self._clock,
            ("GET", "/_local/advance"): self._advance_page,
            ("POST", "/_local/advance"): self._advance,
            ("GET", "/_local/outbox"): self._outbox,
            ("GET", "/_local/tickets"): self._tickets,
        }
        page = local_pages.get((method, path))
        if path.startswith("/_local/") and self._loopback_host() is None:
            # DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1
            # sends Host (and Origin) evil.example. RFC 9110 section 15.5.20: 421
            # Misdirected Request, this server does not answer for that name.
            self._send(
                HTTPStatus.MISDIRECTED_REQUEST,
                _json_body({"message": "the developer pages answer only at " + self._host()}),
            )
            return
        text: str | bytes
        try:
            with self.lock:
                if page is not None:
                    status, headers, text = page(body)
                else:
                    status, headers, text = self._api(method, body)
                tell(self.narrator)
        except Exception:
            traceback.print_exc()
            # What API Gateway answers when the integration fails.
            self._send(500, _json_body({"message": "Internal Server Error"}))
            return
        self._send(status, (headers, text))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            raise ValueError("Request Entity Too Large")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, response: tuple[dict[str, str], str | bytes]) -> None:
        headers, text = response
        payload = text if isinstance(text, bytes) else text.encode("utf-8")
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    # ------------------------------------------------------------ API routes
    def _api(self, method: str, body: bytes) -> tuple[int, dict[str, str], str | bytes]:
        headers = {name.lower(): value for name, value in self.headers.items()}
        # This server speaks plain HTTP: say so, as API Gateway says https in front of a
        # deployed desk (it sets the header, whatever the client sent), so that links the
        # desk mails from here (fresh page links) open (first-user review S7).
        headers["x-forwarded-proto"] = "http"
        response: HttpResponse = self.stack.http(
            method,
            self.path,
            body=body if body or method in ("POST", "PATCH", "PUT") else None,
            headers=headers,
            source_ip=self.client_address[0],
            host=headers.get("host", self._host()),
        )
        # A file's own bytes, never its text (newuser 15, #1).
        answer = response.data if response.data is not None else response.body
        return response.status, response.headers, answer

    # ------------------------------------------------------------ developer pages
    def _home(self, _: bytes) -> tuple[int, dict[str, str], str]:
        return 302, {"Location": "/form"}, ""

    def _no_icon(self, _: bytes) -> tuple[int, dict[str, str], str]:
        # Browsers ask for it on every page; "no content" keeps their consoles quiet.
        return 204, {}, ""

    def _state(self, _: bytes) -> tuple[int, dict[str, str], str]:
        from helpdesk_local.state import build_state

        # The mails' links point here, as on the outbox page: a script that follows one
        # reaches this desk, not the deployed API's host (newuser 12, #16). Only the mails:
        # what customers wrote stays as they wrote it.
        state = build_state(self.stack)
        rewrite = _link_rewriter(self.stack, self._base_url())
        state["outbox"] = [
            {**mail, "text": rewrite(mail["text"]), "html": mail["html"] and rewrite(mail["html"])}
            for mail in state["outbox"]
        ]
        return 200, *_json_body(state)

    def _clock(self, _: bytes) -> tuple[int, dict[str, str], str]:
        """The stack's time alone: what a channel's sender signs with on this desk once its
        clock was advanced (examples/forward_chat.py), cheaper than the whole state."""
        from helpdesk.clock import iso

        return 200, *_json_body({"clock": iso(self.stack.clock.peek())})

    def _advance(self, body: bytes) -> tuple[int, dict[str, str], str]:
        """Move the clock: JSON ``{"by": "1h"}`` answers the new time (CONTRACT section 2);
        the outbox page's form (``by=1h``) goes back to the page it came from."""
        from helpdesk.clock import iso
        from helpdesk.durations import parse_duration

        if not self._from_this_server():
            return 403, *_json_body({"message": "the clock moves only from this server's pages"})
        content_type = self.headers.get_content_type()
        if content_type == "application/x-www-form-urlencoded":
            return self._advance_from_form(body)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            detail = 'the body is not JSON: send {"by": "1h"}'
            return 422, *_json_body({"detail": f"by: {detail}", "field": "by"})
        try:
            by = parse_duration(str(request["by"]))
        except (ValueError, KeyError, TypeError) as error:
            detail = str(error) if isinstance(error, ValueError) else 'expected {"by": "1h"}'
            return 422, *_json_body({"detail": f"by: {detail}", "field": "by"})
        self.stack.advance(by)
        return 200, *_json_body({"clock": iso(self.stack.clock.peek())})

    def _advance_from_form(self, body: bytes) -> tuple[int, dict[str, str], str]:
        from urllib.parse import parse_qs

        from helpdesk.durations import parse_duration

        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=8)
        by = (fields.get("by") or [""])[0]
        try:
            duration = parse_duration(by)
        except ValueError as error:
            _, headers, page = self._page(
                "advance.html", error=str(error), by=by, url=self._base_url()
            )
            return 422, headers, page
        self.stack.advance(duration)
        back = (fields.get("back") or [""])[0]
        # Post/Redirect/Get: a reload of the page does not move the clock again. Only back
        # to a page of this server (never an address the form was given).
        return 303, {"Location": back if back in _CLOCK_PAGES else "/_local/outbox"}, ""

    def _advance_page(self, _: bytes) -> tuple[int, dict[str, str], str]:
        """What a browser gets at /_local/advance: how to move the clock, and a form."""
        return self._page("advance.html", error=None, by="1h", url=self._base_url())

    def _from_this_server(self) -> bool:
        """False for a request a page of another site made a browser send (its Origin, or
        Fetch Metadata's Sec-Fetch-Site, says so; curl and scripts send neither): another
        site must not move a developer's clock. Origin is compared with this server's
        fixed loopback URLs, never with one built from the request's own Host (which a
        rebound name controls, security review F8)."""
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower() not in {
            f"http://{host}" for host in self._loopback_hosts()
        }:
            return False
        return self.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")

    def _loopback_hosts(self) -> tuple[str, str]:
        """The two names this server answers its developer pages for: it listens on
        127.0.0.1 only, which a browser also reaches as ``localhost``."""
        port = cast("ThreadingHTTPServer", self.server).server_port
        return f"{HOST}:{port}", f"localhost:{port}"

    def _loopback_host(self) -> str | None:
        """The request's Host when it is one of :meth:`_loopback_hosts`, else None."""
        host = (self.headers.get("Host") or "").strip().lower()
        return host if host in self._loopback_hosts() else None

    def _outbox(self, _: bytes) -> tuple[int, dict[str, str], str]:
        from helpdesk_local.state import outbox

        rewrite = _link_rewriter(self.stack, self._base_url())
        mails = []
        for mail in reversed(outbox(self.stack)):
            text = rewrite(mail["text"])
            mails.append(
                {
                    **mail,
                    "text": text,
                    "html": _framed(rewrite(mail["html"])) if mail["html"] else None,
                    "links": list(dict.fromkeys(_URL.findall(text))),
                }
            )
        return self._page("outbox.html", mails=mails)

    def _tickets(self, _: bytes) -> tuple[int, dict[str, str], str]:
        from helpdesk.config import load_config
        from helpdesk.services.portal import page_token
        from helpdesk_local.stack import LOCAL_SIGNING_KEY
        from helpdesk_local.state import object_reader, scan_items, ticket_views

        tickets = list(reversed(ticket_views(scan_items(self.stack), object_reader(self.stack))))
        # Each ticket's page, signed afresh as its mails' links are (newuser 12, #16).
        config, now = load_config(self.stack.config_path), self.stack.clock.peek()
        key = LOCAL_SIGNING_KEY.encode()
        pages = {
            t["ref"]: "/ticket/" + page_token(t["ref"], now=now, config=config, key=key)
            for t in tickets
        }
        return self._page("tickets.html", tickets=tickets, pages=pages)

    def _page(self, template: str, **context: Any) -> tuple[int, dict[str, str], str]:
        from helpdesk.clock import iso

        text = (
            _pages()
            .get_template(template)
            .render(clock=iso(self.stack.clock.peek()), path=self.path.split("?", 1)[0], **context)
        )
        return 200, {"Content-Type": "text/html; charset=utf-8"}, text

    def _base_url(self) -> str:
        # The developer pages are answered only for a loopback Host (see _dispatch).
        return f"http://{self._loopback_host() or self._host()}"

    def _host(self) -> str:
        return f"{HOST}:{cast('ThreadingHTTPServer', self.server).server_port}"


def _json_body(value: Any) -> tuple[dict[str, str], str]:
    return {"Content-Type": "application/json; charset=utf-8"}, json.dumps(
        value, ensure_ascii=False, indent=2
    )


def _link_rewriter(stack: LocalStack, base_url: str) -> Callable[[str], str]:
    """Point links the functions made for the deployed API (their ``PUBLIC_URL``) at this
    server, so that a survey link in a mail opens the local survey page."""
    public_urls = {
        function.environment["PUBLIC_URL"].rstrip("/")
        for function in stack.functions.values()
        if function.environment.get("PUBLIC_URL")
    }

    def rewrite(text: str) -> str:
        for public_url in public_urls:
            text = text.replace(public_url + "/", base_url + "/")
        return text

    return rewrite


def _framed(mail_html: str) -> str:
    # In a sandboxed frame a link would open inside the frame; <base target> sends every
    # link to a new tab instead (the sandbox allows popups, never scripts).
    return '<base target="_blank">' + mail_html


@lru_cache(maxsize=1)
def _pages() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PAGES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
