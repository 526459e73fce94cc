"""Scenario files (docs/SCENARIOS.md): emails, forms, channel messages, replies, clock
advances and survey clicks, played against a fresh local stack; the final state is printed as JSON.

A broken scenario file is reported as ``file:line: key.path: reason`` and nothing runs.
"""

from __future__ import annotations

import html
import json
import mimetypes
import posixpath
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from helpdesk.durations import parse_duration

if TYPE_CHECKING:
    from helpdesk_local.stack import LocalStack


class ScenarioError(Exception):
    """A scenario file that cannot be played, with where and why."""

    def __init__(self, source: str, line: int | None, path: str, message: str) -> None:
        self.source, self.line, self.path, self.message = source, line, path, message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")


@dataclass(frozen=True)
class EmailStep:
    raw: bytes


@dataclass(frozen=True)
class FormStep:
    fields: dict[str, Any]


@dataclass(frozen=True)
class ReplyStep:
    ticket: int
    sender: str  # "agent" | "customer" | an address
    text: str
    headers: dict[str, str | None]
    subject: str | None = None
    attachments: tuple[tuple[str, str, bytes], ...] = ()


@dataclass(frozen=True)
class AdvanceStep:
    by: timedelta


@dataclass(frozen=True)
class SurveyStep:
    ticket: int
    # None: the customer does not answer the survey (a step that only complains).
    score: int | None
    comment: str | None = None
    effort: int | None = None
    # Words sent with the survey page's "tell the team lead" box, after any answer.
    complain: str | None = None


@dataclass(frozen=True)
class IntakeStep:
    """A configured channel's message, POSTed to /intake/messages signed with the channel's
    secret (``secret``: another one, to show that a wrong credential is refused)."""

    fields: dict[str, Any]
    secret: str | None = None


@dataclass(frozen=True)
class PortalStep:
    """The ticket's contact acts on the ticket's page (CONTRACT section 7): ``action`` is
    reply, solved or complain, ``text`` what they write (a reply's or a complaint's)."""

    ticket: int
    action: str
    text: str = ""
    attachments: tuple[tuple[str, str, bytes], ...] = ()


@dataclass(frozen=True)
class HelpfulStep:
    """The contact follows the "this answered my question" link of the ``article``-th
    suggested article (from 1) in the ticket's acknowledgement, and confirms on the page."""

    ticket: int
    article: int


Step = (
    EmailStep
    | FormStep
    | ReplyStep
    | AdvanceStep
    | SurveyStep
    | IntakeStep
    | PortalStep
    | HelpfulStep
)


@dataclass(frozen=True)
class Faults:
    rate: float
    seed: int | None = None
    services: tuple[str, ...] = ()


@dataclass
class Scenario:
    source: str
    start: datetime | None
    config: Path | None
    steps: list[tuple[int, Step]] = field(default_factory=list)  # (line, step)
    faults: Faults | None = None


FAULT_SERVICES = ("dynamodb", "s3", "sqs", "events", "ses", "ssm")


# ---------------------------------------------------------------------- loading
class _Reader:
    """Walks the composed YAML so that every problem names its line and key path."""

    def __init__(self, source: str, base: Path) -> None:
        self.source = source
        self.base = base

    def fail(self, node: yaml.Node | None, path: str, message: str) -> ScenarioError:
        line = node.start_mark.line + 1 if node is not None else None
        return ScenarioError(self.source, line, path, message)

    def mapping(self, node: yaml.Node, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, path, "must be a mapping (key: value)")
        result: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in result:
                raise self.fail(key_node, f"{path}.{key}".lstrip("."), "appears twice")
            result[key] = (key_node, value_node)
        return result

    def value(self, node: yaml.Node) -> Any:
        return yaml.safe_load(yaml.serialize(node))

    def text(self, node: yaml.Node, path: str) -> str:
        value = self.value(node)
        if not isinstance(value, str | int | float):
            raise self.fail(node, path, "must be text")
        return str(value)

    def integer(self, node: yaml.Node, path: str, low: int, high: int | None = None) -> int:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(node, path, "must be a whole number")
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.fail(node, path, f"must be {bound} (got {value})")
        return value

    def only(
        self, items: dict[str, tuple[yaml.Node, yaml.Node]], allowed: set[str], path: str
    ) -> None:
        for key, (key_node, _) in items.items():
            if key not in allowed:
                raise self.fail(
                    key_node,
                    f"{path}.{key}".lstrip("."),
                    f"unknown key (expected one of: {', '.join(sorted(allowed))})",
                )


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file; :class:`ScenarioError` on any problem."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(source, None, "", "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(source, None, "", f"cannot be read ({error})") from None
    return parse_scenario(text, source=source, base=path.parent)


def parse_scenario(text: str, *, source: str = "<scenario>", base: Path = Path()) -> Scenario:
    reader = _Reader(source, base)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        # An unclosed bracket is noticed only at the end of the file; the line where the
        # unclosed thing started (the context mark) is where a human should look.
        mark = getattr(error, "context_mark", None) or getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        detail = f"{problem} ({context})" if context else problem
        raise ScenarioError(source, line, "", f"not valid YAML: {detail}") from None
    if root is None:
        raise ScenarioError(source, None, "", "is empty (expected start/config/steps)")
    top = reader.mapping(root, "")
    reader.only(top, {"start", "config", "steps", "faults", "description", "name"}, "")
    scenario = Scenario(source=source, start=None, config=None)
    if "start" in top:
        node = top["start"][1]
        value = reader.value(node)
        try:
            start = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            raise reader.fail(
                node, "start", "must be an ISO 8601 time such as 2026-11-23T08:55:00+00:00"
            ) from None
        if start.tzinfo is None:
            raise reader.fail(node, "start", "needs a UTC offset (e.g. +00:00)")
        scenario.start = start
    if "config" in top:
        node = top["config"][1]
        config = (base / reader.text(node, "config")).resolve()
        if not config.is_file():
            raise reader.fail(node, "config", f"file not found: {config}")
        scenario.config = config
    if "faults" in top:
        scenario.faults = _faults(reader, top["faults"][1])
    if "steps" not in top:
        raise ScenarioError(source, root.start_mark.line + 1, "steps", "is required")
    steps_node = top["steps"][1]
    if not isinstance(steps_node, yaml.SequenceNode):
        raise reader.fail(steps_node, "steps", "must be a list of steps")
    for index, step_node in enumerate(steps_node.value):
        scenario.steps.append((step_node.start_mark.line + 1, _step(reader, step_node, index)))
    return scenario


def _faults(reader: _Reader, node: yaml.Node) -> Faults:
    items = reader.mapping(node, "faults")
    reader.only(items, {"seed", "rate", "services"}, "faults")
    rate = 0.0
    if "rate" in items:
        value = reader.value(items["rate"][1])
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
            raise reader.fail(items["rate"][1], "faults.rate", "must be a number from 0 to below 1")
        rate = float(value)
    seed = reader.integer(items["seed"][1], "faults.seed", 0) if "seed" in items else None
    services: tuple[str, ...] = ()
    if "services" in items:
        value = reader.value(items["services"][1])
        if not isinstance(value, list) or any(s not in FAULT_SERVICES for s in value):
            raise reader.fail(
                items["services"][1],
                "faults.services",
                f"must be a list of: {', '.join(FAULT_SERVICES)}",
            )
        services = tuple(value)
    return Faults(rate=rate, seed=seed, services=services)


def _step(reader: _Reader, node: yaml.Node, index: int) -> Step:
    path = f"steps[{index}]"
    items = reader.mapping(node, path)
    kinds = {"email", "form", "reply", "advance", "survey", "intake", "portal", "helpful"}
    if len(items) != 1 or next(iter(items)) not in kinds:
        raise reader.fail(node, path, f"a step is exactly one of: {', '.join(sorted(kinds))}")
    kind, (_, body) = next(iter(items.items()))
    path = f"{path}.{kind}"
    if kind == "advance":
        text = reader.text(body, path)
        try:
            return AdvanceStep(parse_duration(text))
        except ValueError as error:
            raise reader.fail(body, path, str(error)) from None
    fields = reader.mapping(body, path)
    if kind == "email":
        reader.only(fields, {"file", "raw"}, path)
        if ("file" in fields) == ("raw" in fields):
            raise reader.fail(body, path, "needs exactly one of file or raw")
        if "raw" in fields:
            return EmailStep(reader.text(fields["raw"][1], f"{path}.raw").encode("utf-8"))
        file_node = fields["file"][1]
        mail_path = (reader.base / reader.text(file_node, f"{path}.file")).resolve()
        try:
            return EmailStep(mail_path.read_bytes())
        except OSError:
            raise reader.fail(file_node, f"{path}.file", f"file not found: {mail_path}") from None
    if kind == "form":
        return FormStep({key: reader.value(value) for key, (_, value) in fields.items()})
    if kind == "intake":
        if "channel" not in fields:
            raise reader.fail(body, f"{path}.channel", "is required (the channel that posts)")
        reader.text(fields["channel"][1], f"{path}.channel")
        secret = reader.text(fields["secret"][1], f"{path}.secret") if "secret" in fields else None
        return IntakeStep(
            {key: reader.value(value) for key, (_, value) in fields.items() if key != "secret"},
            secret=secret,
        )
    if kind == "reply":
        reader.only(fields, {"ticket", "from", "text", "headers", "subject", "attachments"}, path)
        for required in ("ticket", "from", "text"):
            if required not in fields:
                raise reader.fail(body, f"{path}.{required}", "is required")
        headers: dict[str, str | None] = {}
        if "headers" in fields:
            raw_headers = reader.value(fields["headers"][1])
            if not isinstance(raw_headers, dict):
                raise reader.fail(fields["headers"][1], f"{path}.headers", "must be a mapping")
            headers = {str(k): (None if v is None else str(v)) for k, v in raw_headers.items()}
        sender = reader.text(fields["from"][1], f"{path}.from")
        if sender not in ("agent", "customer") and "@" not in sender:
            raise reader.fail(
                fields["from"][1], f"{path}.from", "must be agent, customer or an email address"
            )
        return ReplyStep(
            ticket=reader.integer(fields["ticket"][1], f"{path}.ticket", 1),
            sender=sender,
            text=reader.text(fields["text"][1], f"{path}.text"),
            headers=headers,
            subject=reader.text(fields["subject"][1], f"{path}.subject")
            if "subject" in fields
            else None,
            attachments=_attachments(reader, fields["attachments"][1], f"{path}.attachments")
            if "attachments" in fields
            else (),
        )
    if kind == "helpful":
        reader.only(fields, {"ticket", "article"}, path)
        for required in ("ticket", "article"):
            if required not in fields:
                raise reader.fail(body, f"{path}.{required}", "is required")
        return HelpfulStep(
            ticket=reader.integer(fields["ticket"][1], f"{path}.ticket", 1),
            article=reader.integer(fields["article"][1], f"{path}.article", 1),
        )
    if kind == "portal":
        return _portal_step(reader, body, fields, path)
    reader.only(fields, {"ticket", "score", "comment", "effort", "complain"}, path)
    if "ticket" not in fields:
        raise reader.fail(body, f"{path}.ticket", "is required")
    if "score" not in fields and "complain" not in fields:
        raise reader.fail(
            body, f"{path}.score", "is required (or complain: a step that only complains)"
        )
    return SurveyStep(
        ticket=reader.integer(fields["ticket"][1], f"{path}.ticket", 1),
        score=reader.integer(fields["score"][1], f"{path}.score", 1, 5)
        if "score" in fields
        else None,
        complain=reader.text(fields["complain"][1], f"{path}.complain")
        if "complain" in fields
        else None,
        comment=reader.text(fields["comment"][1], f"{path}.comment")
        if "comment" in fields
        else None,
        effort=reader.integer(fields["effort"][1], f"{path}.effort", 1, 5)
        if "effort" in fields
        else None,
    )


def _portal_step(
    reader: _Reader, body: yaml.Node, fields: dict[str, tuple[yaml.Node, yaml.Node]], path: str
) -> PortalStep:
    """``{ticket: N, reply: text}`` (with optional ``attachments``), ``{ticket: N, solved:
    true}`` or ``{ticket: N, complain: text}``."""
    reader.only(fields, {"ticket", "reply", "solved", "complain", "attachments"}, path)
    if "ticket" not in fields:
        raise reader.fail(body, f"{path}.ticket", "is required")
    actions = [key for key in ("reply", "solved", "complain") if key in fields]
    if len(actions) != 1:
        raise reader.fail(body, path, "needs exactly one of reply, solved or complain")
    [action] = actions
    node = fields[action][1]
    text = ""
    if action == "solved":
        if reader.value(node) is not True:
            raise reader.fail(node, f"{path}.solved", "must be true")
    else:
        text = reader.text(node, f"{path}.{action}")
    if "attachments" in fields and action != "reply":
        raise reader.fail(fields["attachments"][1], f"{path}.attachments", "go with a reply only")
    return PortalStep(
        ticket=reader.integer(fields["ticket"][1], f"{path}.ticket", 1),
        action=action,
        text=text,
        attachments=_attachments(reader, fields["attachments"][1], f"{path}.attachments")
        if "attachments" in fields
        else (),
    )


def _attachments(reader: _Reader, node: yaml.Node, path: str) -> tuple[tuple[str, str, bytes], ...]:
    """A reply's files: each ``{file: path}`` (relative to the scenario) or inline
    ``content`` (or ``text``: the same, sent as UTF-8) with its ``filename`` (or ``name``),
    and an optional ``content_type`` (else guessed from the name). A ``filename`` also
    renames a ``file``."""
    if not isinstance(node, yaml.SequenceNode):
        raise reader.fail(node, path, "must be a list of attachments")
    attachments = []
    for index, item in enumerate(node.value):
        where = f"{path}[{index}]"
        fields = reader.mapping(item, where)
        reader.only(fields, {"filename", "name", "content_type", "file", "content", "text"}, where)
        inline = [key for key in ("content", "text") if key in fields]
        if len(inline) + ("file" in fields) != 1:
            raise reader.fail(item, where, "needs exactly one of file, content or text")
        names = [key for key in ("filename", "name") if key in fields]
        if len(names) > 1:
            raise reader.fail(item, where, "takes filename or name, not both")
        name = reader.text(fields[names[0]][1], f"{where}.{names[0]}") if names else ""
        if "file" in fields:
            file_node = fields["file"][1]
            file_path = (reader.base / reader.text(file_node, f"{where}.file")).resolve()
            try:
                data = file_path.read_bytes()
            except OSError:
                missing = f"file not found: {file_path}"
                raise reader.fail(file_node, f"{where}.file", missing) from None
            name = name or file_path.name
        else:
            if not name:
                raise reader.fail(item, f"{where}.filename", "is required")
            data = reader.text(fields[inline[0]][1], f"{where}.{inline[0]}").encode("utf-8")
        content_type = (
            reader.text(fields["content_type"][1], f"{where}.content_type")
            if "content_type" in fields
            else mimetypes.guess_type(name)[0] or "application/octet-stream"
        )
        attachments.append((name, content_type, data))
    return tuple(attachments)


# ---------------------------------------------------------------------- playing
SES_PASS_HEADERS = {
    # What SES puts on top of a message that passed every check (its receipt action adds
    # these before the message is stored in S3), in the layout of the AWS SES Developer
    # Guide's "Sample incoming email event": SPF passed for the envelope sender, DKIM for
    # the From domain, DMARC for the From domain. {domain} is the From domain and {sender}
    # the From address, so SPF and DKIM are aligned with From (RFC 7489 section 3.1).
    "Authentication-Results": "amazonses.com; spf=pass (spfCheck: domain of {domain} designates "
    "192.0.2.10 as permitted sender) client-ip=192.0.2.10; envelope-from={sender}; "
    "helo=mail.{domain}; dkim=pass header.i=@{domain}; dmarc=pass header.from={domain};",
    "Received-SPF": "pass (spfCheck: domain of {domain} designates 192.0.2.10 as permitted "
    "sender) client-ip=192.0.2.10; envelope-from={sender}; helo=mail.{domain};",
    "X-SES-Spam-Verdict": "PASS",
    "X-SES-Virus-Verdict": "PASS",
}


class Player:
    """Plays a scenario's steps on a stack, step by step, keeping what the state needs."""

    def __init__(
        self,
        stack: Any,
        scenario: Scenario,
        narrate: Callable[[int, Step, Any], None] | None = None,
    ) -> None:
        self.stack = stack
        self.scenario = scenario
        self.narrate = narrate
        self.rejected: list[dict[str, Any]] = []
        self.ticket_refs: list[str] = []

    def play(self) -> dict[str, Any]:
        from helpdesk_local.state import build_state

        for number, (line, step) in enumerate(self.scenario.steps, start=1):
            try:
                outcome = self.run(number, step)
            except ScenarioError as error:
                if error.line is not None:
                    raise
                # Found while playing (a ticket the step names is not there yet): where
                # the step is, as a problem of the file is named.
                path = error.path or f"steps[{number - 1}]"
                raise ScenarioError(error.source, line, path, error.message) from None
            if self.narrate is not None:
                self.narrate(number, step, outcome)
        return build_state(self.stack, rejected=self.rejected)

    def run(self, number: int, step: Step) -> Any:
        stack = self.stack
        if isinstance(step, EmailStep):
            stack.deliver_email(step.raw)
            stack.drain()
            return None
        if isinstance(step, FormStep | IntakeStep):
            response = (
                stack.post_form(step.fields)
                if isinstance(step, FormStep)
                else stack.post_message(step.fields, secret=step.secret)
            )
            if response.status >= 400:
                try:
                    body = response.json()
                except ValueError:
                    body = {"detail": response.body}
                self.rejected.append({"step": number, "status": response.status, "body": body})
            return response
        if isinstance(step, AdvanceStep):
            stack.advance(step.by)
            return None
        if isinstance(step, ReplyStep):
            stack.deliver_email(self.reply_mail(step))
            stack.drain()
            return None
        if isinstance(step, HelpfulStep):
            outcome = self.helpful(step)
            stack.drain()
            return outcome
        if isinstance(step, PortalStep):
            response = self.portal(step)
            if response is not None and response.status >= 400:
                detail = re.search(r'role="alert"[^>]*>(.*?)</p>', response.body, re.DOTALL)
                body = {"detail": html.unescape(detail[1]) if detail else response.body[:500]}
                self.rejected.append({"step": number, "status": response.status, "body": body})
            return response
        return self.survey(number, step)

    # ---------------------------------------------------------------- helpers
    def ticket(self, number: int) -> dict[str, Any]:
        from helpdesk_local.state import object_reader, scan_items, ticket_views

        tickets = ticket_views(scan_items(self.stack), object_reader(self.stack))
        if number > len(tickets):
            raise ScenarioError(
                self.scenario.source,
                None,
                "",
                f"ticket {number} does not exist (only {len(tickets)} so far)",
            )
        return tickets[number - 1]

    def reply_mail(self, step: ReplyStep) -> bytes:
        """A reply to the newest outbound mail of the ticket, as a mail client writes it."""
        from helpdesk_local.state import outbox

        ticket = self.ticket(step.ticket)
        if step.sender == "agent":
            sender = ticket["assignee"] or self._first_agent()
        elif step.sender == "customer":
            sender = ticket["contact"]["email"]
        else:
            sender = step.sender
        mails = [m for m in outbox(self.stack) if m["ticket"] == ticket["ref"]]
        to_sender = [m for m in mails if sender.lower() in (t.lower() for t in m["to"])]
        answered: dict[str, Any] | None = (to_sender or mails)[-1] if (to_sender or mails) else None
        domain = sender.rsplit("@", 1)[-1]
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = sender
        if answered is not None:
            message["To"] = answered["headers"].get("Reply-To") or answered["from"]
            subject = answered["subject"]
            message["Subject"] = step.subject or (
                subject if subject.lower().startswith("re:") else f"Re: {subject}"
            )
            parent = answered["headers"].get("Message-ID", "")
            message["In-Reply-To"] = parent
            message["References"] = " ".join(
                filter(None, [answered["headers"].get("References", ""), parent])
            )
            quoted = "\n".join("> " + line for line in answered["text"].splitlines())
            when = format_datetime(self.stack.clock.peek())
            body = f"{step.text.rstrip()}\n\nOn {when}, {answered['from']} wrote:\n{quoted}\n"
        else:
            message["To"] = self._helpdesk_address()
            message["Subject"] = step.subject or f"Re: [#{ticket['ref']}] {ticket['subject']}"
            body = step.text
        message["Date"] = format_datetime(self.stack.clock.peek().astimezone(UTC))
        message["Message-ID"] = f"<{uuid.uuid4().hex}@{domain}>"
        message.set_content(body)
        for filename, content_type, data in step.attachments:
            maintype, _, subtype = content_type.partition("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        for name, template in SES_PASS_HEADERS.items():
            message[name] = template.format(domain=domain, sender=sender)
        for name, value in step.headers.items():
            del message[name]
            if value is not None:
                message[name] = value
        raw = message.as_bytes()
        # SES prepends its headers above the client's; keep that order for the parser.
        return _move_to_top(raw, list(SES_PASS_HEADERS))

    def _first_agent(self) -> str:
        from helpdesk.runtime import load_config_once

        config = load_config_once(str(self.stack.config_path))
        return config.agents[0].email

    def _helpdesk_address(self) -> str:
        from helpdesk.runtime import load_config_once

        return load_config_once(str(self.stack.config_path)).helpdesk.address

    def survey(self, number: int, step: SurveyStep) -> Any:
        """Follow the score link of the survey mail, then submit the page's form; with
        ``complain``, then send the page's "tell the team lead" box (its refusal, if any,
        is listed in ``rejected`` like a refused form)."""
        from urllib.parse import urlencode

        from helpdesk_local.state import outbox

        ticket = self.ticket(step.ticket)
        surveys = [
            m for m in outbox(self.stack) if m["kind"] == "survey" and m["ticket"] == ticket["ref"]
        ]
        if not surveys:
            return None
        links = re.findall(r"https?://\S+/survey/[^\s\"'<>]+", surveys[-1]["text"])
        score = step.score if step.score is not None else 1
        chosen = next((u for u in links if re.search(rf"[?&]score={score}\b", u)), None)
        if chosen is None:
            return None
        parts = urlsplit(chosen)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        page = self.stack.http("GET", path)
        form_type = {"content-type": "application/x-www-form-urlencoded"}
        answer = None
        if step.score is not None:
            form = {"score": str(step.score)}
            if step.effort is not None:
                form["effort"] = str(step.effort)
            if step.comment is not None:
                form["comment"] = step.comment
            answer = self.stack.http("POST", parts.path, body=urlencode(form), headers=form_type)
        if step.complain is None:
            return (page, answer)
        # The box's form posts to <token>/complaint, relative to the survey's own path.
        complaint = self.stack.http(
            "POST",
            parts.path.rstrip("/") + "/complaint",
            body=urlencode({"complaint": step.complain}),
            headers=form_type,
        )
        if complaint.status >= 400:
            said = re.search(r'id="complaint-error">(.*?)</p>', complaint.body, re.DOTALL)
            detail = html.unescape(said.group(1)).strip() if said else complaint.body[:200]
            self.rejected.append(
                {"step": number, "status": complaint.status, "body": {"detail": detail}}
            )
        return (page, answer, complaint)

    def portal(self, step: PortalStep) -> Any:
        """Open the ticket's page from the latest mail to its contact, as a browser does,
        then post the page's form for the step's action and follow the redirect."""
        from urllib.parse import urlencode

        ticket = self.ticket(step.ticket)
        path = page_link(self.stack, ticket["ref"], ticket["contact"]["email"])
        if path is None:
            raise ScenarioError(
                self.scenario.source, None, "", f"no mail to the contact of {ticket['ref']} "
                "carries a link to its page"
            )  # fmt: skip
        page = self.stack.http("GET", path)
        form = page_form(page.body, step.action) if page.status == 200 else None
        if form is None:
            return page
        target, fields = form
        post_path = posixpath.join(posixpath.dirname(path), target)
        if step.action == "solved":
            body: bytes = urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body, content_type = multipart_body({**fields, "text": step.text}, step.attachments)
        answer = self.stack.http(
            "POST", post_path, body=body, headers={"content-type": content_type}
        )
        if answer.status != 303:
            return answer
        location = posixpath.join(posixpath.dirname(post_path), answer.headers["location"])
        return self.stack.http("GET", location)

    def helpful(self, step: HelpfulStep) -> Any:
        """Follow the "this answered my question" link of the Nth suggested article in the
        ticket's acknowledgement (a GET, which records nothing), then press the page's
        button (its form's POST). Nothing happens when the mail offers no such article."""
        from urllib.parse import urlencode

        from helpdesk_local.state import outbox

        ticket = self.ticket(step.ticket)
        acknowledgements = [
            m
            for m in outbox(self.stack)
            if m["kind"] == "acknowledgement" and m["ticket"] == ticket["ref"]
        ]
        if not acknowledgements:
            return None
        links = re.findall(
            r"https?://\S+/answer/[^\s\"'<>?]+\?answered=yes", acknowledgements[0]["text"]
        )
        if step.article > len(links):
            return None
        parts = urlsplit(links[step.article - 1])
        page = self.stack.http("GET", f"{parts.path}?{parts.query}")
        # The page's form: its action (relative to the page) and its fields.
        action = re.search(r'<form method="post" action="([^"]+)"', page.body)
        if page.status != 200 or action is None:
            return (page, None)
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.body))
        target = parts.path.rsplit("/", 1)[0] + "/" + action[1]
        answer = self.stack.http(
            "POST",
            target,
            body=urlencode(fields),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        return (page, answer)


PAGE_LINK = re.compile(r"https?://[^\s\"'<>]+/ticket/[A-Za-z0-9_.~%-]+")


def page_link(stack: Any, ref: str, contact: str) -> str | None:
    """The path of ``ref``'s page link in the latest mail about it to ``contact``."""
    from helpdesk_local.state import outbox

    mails = [
        m
        for m in outbox(stack)
        if m["ticket"] == ref and contact.lower() in (t.lower() for t in m["to"])
    ]
    for mail in reversed(mails):
        links = PAGE_LINK.findall(mail["text"])
        if links:
            return str(urlsplit(links[-1]).path)
    return None


def page_form(page: str, action: str) -> tuple[str, dict[str, str]] | None:
    """The form of ``page`` whose hidden ``action`` is ``action``: where it posts and its
    hidden fields (what a browser sends besides what the person types)."""
    for form in re.findall(r"<form\b(.*?)</form>", page, re.DOTALL):
        hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
        target = re.search(r'action="([^"]*)"', form)
        if hidden.get("action") == action and target:
            return html.unescape(target[1]), {k: html.unescape(v) for k, v in hidden.items()}
    return None


def multipart_body(
    fields: dict[str, str], files: tuple[tuple[str, str, bytes], ...]
) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser sends it (RFC 7578), and its content type."""
    boundary = "----helpdesk" + uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )
    for filename, content_type, data in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _move_to_top(raw: bytes, names: list[str]) -> bytes:
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and lines:
            lines[-1] += b"\r\n" + line
        else:
            lines.append(line)
    lowered = [n.lower().encode() + b":" for n in names]
    top = [ln for ln in lines if any(ln.lower().startswith(n) for n in lowered)]
    rest = [ln for ln in lines if ln not in top]
    return b"\r\n".join(top + rest) + sep + body


def run_scenario(
    path: Path, *, narrate: Callable[[int, Step, Any], None] | None = None
) -> dict[str, Any]:
    """Play a scenario file on a fresh local stack and return the final state."""
    scenario = load_scenario(path)
    with stack_for(scenario, scenario.faults) as stack:
        return Player(stack, scenario, narrate).play()


def stack_for(scenario: Scenario, faults: Faults | None) -> LocalStack:
    """A fresh local stack (not started) with the scenario's configuration, start time and
    ``faults`` (the scenario's own, none, or a test's variation of them)."""
    from helpdesk_local.stack import LocalStack

    return LocalStack(
        config_path=scenario.config,
        start=scenario.start,
        fault_rate=faults.rate if faults else 0.0,
        fault_seed=faults.seed if faults else None,
        fault_services=faults.services if faults else (),
    )


def dumps(state: dict[str, Any]) -> str:
    return json.dumps(state, ensure_ascii=False, indent=2)
