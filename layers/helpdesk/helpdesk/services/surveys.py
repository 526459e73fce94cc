"""Satisfaction surveys after resolution, their answers, and auto-closing quiet tickets.

A survey link is ``{public_url}/survey/{token}?score=N``. The token carries the ticket
reference and an expiry, signed with HMAC-SHA256 under a key from SSM Parameter Store (the
config file is readable by too many people to hold it): a link cannot be forged for another
ticket, altered, or used after it expires. The score is only a pre-selection on the page,
so it is not signed; the customer may change it before submitting.

Following a link records nothing: mail security scanners open every link in a mail, so
only the page's POST counts as an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk import timers
from helpdesk.characters import typed_text
from helpdesk.errors import (
    HelpdeskError,
    InvalidInput,
    RateLimited,
    TooLarge,
)
from helpdesk.events import SurveyAnswered, status_changes
from helpdesk.links import LinkDesk, LinkKind, reference
from helpdesk.model import ACTIVE_STATUSES, awaits_review, is_robot, listed_as_the_contacts
from helpdesk.ports import TicketFinder, TimerIndex
from helpdesk.post_input import FORM_URLENCODED, form_fields, media_type
from helpdesk.services import stats
from helpdesk.services.clocks import Change, apply
from helpdesk.services.rate_limits import WindowCounter, client_key, limit_client, limit_rate
from helpdesk.unit_of_work import TicketChange, change_ticket

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.model import Contact, Ticket
    from helpdesk.notices import Notifier
    from helpdesk.ports import TicketUnitOfWork
    from helpdesk.services.complaints import ComplaintDesk

COMMENT_LIMIT = 4000
LOW_SCORES = frozenset({1, 2})


# ---------------------------------------------------------------------- links
# The purpose a survey token is signed for (helpdesk.links): it never opens anything else.
SURVEY_LINK = "survey"
SURVEY: LinkKind[str] = LinkKind(SURVEY_LINK, reference, str)


def make_token(ref: str, expires: datetime, key: bytes) -> str:
    """A survey token naming ``ref`` that verifies until ``expires``."""
    return SURVEY.make(ref, expires, key)


def score_url(public_url: str, token: str, score: int) -> str:
    """The one-click link for ``score``."""
    return f"{public_url.rstrip('/')}/survey/{token}?score={score}"


# ---------------------------------------------------------------------- dispatch
@dataclass(frozen=True)
class SweepResult:
    """What one sweep did (for logs, metrics and tests). ``failed`` tickets keep their
    timers, so the next sweep (or the scheduler's retry) tries them again."""

    surveys_sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    failed: list[tuple[str, Exception]] = field(default_factory=list)

    @property
    def due(self) -> int:
        """How many due timers the sweep looked at."""
        return len(self.surveys_sent) + len(self.skipped) + len(self.closed) + len(self.failed)


class SurveyRecords(TimerIndex, TicketFinder, Protocol):
    """What the survey sweep reads and writes beside the unit of work: the survey and
    auto-close timers, the tickets they name, and each contact's survey slot."""

    def remove_timer(self, ref: str, kind: str) -> None:
        """Remove ``ref``'s ``kind`` timer whatever it holds (its ticket is gone)."""
        ...

    def take_survey_slot(self, contact_email: str, ref: str, *, at: str, free_since: str) -> bool:
        """Give ``ref`` its contact's survey slot at ``at``, all or nothing: True when no
        other ticket of the contact was surveyed after ``free_since``, or the slot is
        ``ref``'s already."""
        ...


@dataclass(frozen=True)
class SurveyDispatch:
    """The scheduled sweep: surveys that are due, solved tickets that may close."""

    uow: TicketUnitOfWork
    repo: SurveyRecords
    # Sends the invitation (helpdesk.notices.surveys), with the link to the ticket's page.
    notifier: Notifier
    config: Config
    signing_key: bytes  # signs the survey links
    public_url: str  # where the survey links point

    def sweep(self, *, now: datetime) -> SweepResult:
        """Handle every due survey and auto-close timer (the timer index, never a Scan).

        One ticket that fails, for whatever reason (another sweep is sending its survey
        this instant, a throttled write, SES out of reach), does not hold up the others:
        it is listed in ``failed``, keeps its timer, and the caller fails the run after
        recording it, as the SLA sweep does.
        """
        result = SweepResult()
        due_key = timers.due_key(now)
        for due in list(self.repo.due_timers(timers.SURVEY, due_key)):
            try:
                sent = self.survey(due.ref, now=now)
            except Exception as error:
                result.failed.append((due.ref, error))
                continue
            (result.surveys_sent if sent else result.skipped).append(due.ref)
        for due in list(self.repo.due_timers(timers.AUTOCLOSE, due_key)):
            try:
                if self.autoclose(due.ref, now=now, due_key=due.due_key):
                    result.closed.append(due.ref)
            except Exception as error:
                result.failed.append((due.ref, error))
        return result

    def survey(self, ref: str, *, now: datetime) -> bool:
        """Send the survey of ``ref`` if it is still solved and its contact is not tired of
        surveys; True when a survey went out. The timer stops either way."""
        ticket = self.repo.find_ticket(ref)
        if ticket is None:
            self.repo.remove_timer(ref, timers.SURVEY)
            return False
        if ticket.status != "solved" or ticket.survey.sent_at:
            self._stop(ticket, timers.SURVEY, now=now, note=None)
            return False
        if not listed_as_the_contacts(ticket):
            # Opened by mail that does not show who wrote it (forged, spam, a robot's):
            # the desk answers none of it on its own, and a survey would carry a forger's
            # subject to her and spend her survey slot (attack 18, F2).
            self._stop(ticket, timers.SURVEY, now=now, note="unlisted")
            return False
        if not self._claim_contact(ticket, now):
            self._stop(ticket, timers.SURVEY, now=now, note="fatigue")
            return False
        self._send_survey(ticket, now)

        def sent(current: Ticket) -> TicketChange:
            return TicketChange(
                before=current,
                after=replace(current, survey=replace(current.survey, sent_at=now)),
                at=now,
                timers={timers.SURVEY: None},
                history=[("survey_sent", {"to": current.contact_email})],
                effects=stats.survey_sent(ref, at=now, config=self.config, team=current.team),
            )

        change_ticket(self.uow, ref, sent)
        return True

    def _claim_contact(self, ticket: Ticket, now: datetime) -> bool:
        """Take the contact's survey slot: a conditional update, so two sweeps (or two
        tickets of one contact) cannot both send. A retry for the same ticket keeps it."""
        return self.repo.take_survey_slot(
            ticket.contact_email,
            ticket.ref,
            at=timers.due_key(now),
            free_since=timers.due_key(now - self.config.surveys.fatigue),
        )

    def _send_survey(self, ticket: Ticket, now: datetime) -> None:
        from helpdesk.notices import surveys

        token = make_token(ticket.ref, now + self.config.surveys.link_ttl, self.signing_key)
        surveys.invitation(
            self.notifier, ticket, lambda score: score_url(self.public_url, token, score), now=now
        )

    def autoclose(self, ref: str, *, now: datetime, due_key: str | None = None) -> bool:
        """Close ``ref`` if it is still solved and quiet for ``surveys.close_after``, or
        if it is a robot's ticket nobody took up, quiet for ``robots.close_after``.

        A robot that wrote again since the timer was set moves the timer to the end of
        the new quiet period (``due_key``: the timer as the sweep saw it).
        """
        if self.uow.find(ref) is None:
            self.repo.remove_timer(ref, timers.AUTOCLOSE)
            return False
        closed = False
        later: datetime | None = None

        def close(ticket: Ticket) -> TicketChange | None:
            nonlocal closed, later
            closed, later = False, None
            if ticket.status != "solved" and is_robot(ticket):
                return close_robot(ticket)
            quiet_until = (ticket.solved_at or now) + self.config.surveys.close_after
            if ticket.status != "solved" or quiet_until > now:
                # A customer reply reopened it (which stopped this timer); a stale timer
                # item is all that is left to remove.
                if ticket.status != "solved":
                    return _stopping(ticket, timers.AUTOCLOSE, now=now, note=None)
                return None
            closed = True
            return self._closing(
                ticket, {"by": "autoclose", "solved_at": ticket.solved_at}, now=now
            )

        def close_robot(ticket: Ticket) -> TicketChange | None:
            nonlocal closed, later
            if not awaits_review(ticket) or ticket.status not in ACTIVE_STATUSES:
                # An agent took it up (or closed it): it is theirs now, not the sweep's.
                return _stopping(ticket, timers.AUTOCLOSE, now=now, note=None)
            quiet_until = (ticket.updated_at or ticket.created_at) + self.config.robots.close_after
            if quiet_until > now:
                later = quiet_until  # the robot wrote again: wait for a new quiet period
                return None
            closed = True
            return self._closing(
                ticket,
                {"by": "autoclose", "robot": True},
                now=now,
                ends={timers.AUTOCLOSE: None},
            )

        change_ticket(self.uow, ref, close)
        if later is not None and due_key is not None:
            self.repo.move_timer(ref, timers.AUTOCLOSE, expected_key=due_key, due=later)
        return closed

    def _closing(
        self,
        ticket: Ticket,
        history: dict[str, Any],
        *,
        now: datetime,
        ends: dict[str, datetime | None] | None = None,
    ) -> TicketChange:
        """``ticket`` closed by the quiet-period sweep: a solved ticket nobody wrote on, or
        a robot's ticket nobody took up (``ends``: the timers the change also ends)."""
        updated = apply(ticket, Change(status="closed"), at=now, config=self.config)
        return TicketChange(
            before=ticket,
            after=updated,
            at=now,
            timers=ends or {},
            events=status_changes(ticket, updated, by="autoclose"),
            history=[("closed", history)],
        )

    def _stop(self, ticket: Ticket, kind: str, *, now: datetime, note: str | None) -> None:
        """Stop a timer through a versioned ticket write (a plain delete could remove a timer
        that a concurrent change has just set again)."""
        change_ticket(
            self.uow, ticket.ref, lambda current: _stopping(current, kind, now=now, note=note)
        )


def _stopping(ticket: Ticket, kind: str, *, now: datetime, note: str | None) -> TicketChange:
    survey = replace(ticket.survey, skipped=note) if note else ticket.survey
    return TicketChange(
        before=ticket,
        after=replace(ticket, survey=survey),
        at=now,
        timers={kind: None},
        history=[("survey_skipped", {"reason": note})] if note else [],
    )


# ---------------------------------------------------------------------- answers
@dataclass(frozen=True)
class SurveyForm:
    """A survey link that may be answered: its ticket, and the score to pre-select."""

    ticket: Ticket
    token: str
    score: int | None


class AnswerNotTaken(HelpdeskError):
    """A posted answer that cannot be recorded: ``problem`` says why (the form is not form
    fields, no valid score, or too many answers this hour), ``form`` is the survey to show
    again."""

    def __init__(self, form: SurveyForm, problem: InvalidInput | RateLimited) -> None:
        super().__init__(str(problem))
        self.form = form
        self.problem = problem


class ComplaintNotTaken(HelpdeskError):
    """A complaint posted from the survey page that cannot be taken: ``problem`` says why
    (not form fields, no words, too long, too many this hour), ``form`` is the survey to
    show again with the words kept in the box."""

    def __init__(self, form: SurveyForm, problem: HelpdeskError, words: str = "") -> None:
        super().__init__(str(problem))
        self.form = form
        self.problem = problem
        self.words = words


class SurveyPageRecords(TicketFinder, WindowCounter, Protocol):
    """What the survey's page reads: the ticket behind a link, and its contact (the
    complaint page's words); and the hourly counters of its answers."""

    def get_contact(self, email: str) -> Contact | None: ...


@dataclass(frozen=True)
class SurveyDesk(LinkDesk):
    """The survey behind each score link and the answer posted from its form."""

    repo: SurveyPageRecords

    def open(self, token: str, score: str | None, *, now: datetime) -> SurveyForm:
        """The survey of a genuine link with ``score`` pre-selected; records nothing.
        :class:`LinkRefused` otherwise."""
        return SurveyForm(self._ticket(token, now), token, _score_or_none(score))

    def submit(
        self, token: str, body: str, content_type: str, *, source_ip: str, now: datetime
    ) -> Ticket:
        """Record the answer posted from the page (replacing an earlier one); the ticket as
        stored. :class:`LinkRefused` or :class:`AnswerNotTaken` otherwise (past the hourly
        limits of the client or the ticket, its problem is :class:`RateLimited`)."""
        ticket = self._ticket(token, now)
        try:
            self._count(ticket, source_ip, now)
        except RateLimited as limited:
            raise AnswerNotTaken(SurveyForm(ticket, token, None), limited) from None
        try:
            fields = form_fields(body, content_type)
        except InvalidInput as problem:
            raise AnswerNotTaken(SurveyForm(ticket, token, None), problem) from None
        try:
            effort = _answer(fields.get("effort"), "effort", required=False)
            score = _answer(fields.get("score"), "score", required=True)
            if score is None:
                raise InvalidInput("score", "is required")
        except InvalidInput as problem:
            form = SurveyForm(ticket, token, _score_or_none(fields.get("score")))
            raise AnswerNotTaken(form, problem) from None
        # Typed by anyone with the link, read in the lead's alert mail (helpdesk.characters).
        comment = typed_text(fields.get("comment") or "").strip()[:COMMENT_LIMIT] or None
        stored = self._record(ticket, score=score, effort=effort, comment=comment, now=now)
        return stored

    def complain(
        self,
        token: str,
        body: str,
        content_type: str,
        *,
        now: datetime,
        complaints: ComplaintDesk,
    ) -> Ticket:
        """Take the complaint posted from the survey page (the field ``complaint``) to the
        team lead: the ticket as stored (a new one linked to it when it was closed).
        :class:`LinkRefused` or :class:`ComplaintNotTaken` otherwise."""
        ticket = self._ticket(token, now)
        form = SurveyForm(ticket, token, None)
        limit = self.config.complaints.text_max_chars
        # Percent-encoded, one character takes at most 12 bytes (4 of UTF-8, each %XX).
        if len(body) > limit * 12 + 1024 and media_type(content_type) == FORM_URLENCODED:
            raise ComplaintNotTaken(
                form, TooLarge("complaint", f"is too long (at most {limit} characters)")
            )
        try:
            fields = form_fields(body, content_type)
        except InvalidInput as problem:
            raise ComplaintNotTaken(form, problem) from None
        words = fields.get("complaint", "")
        try:
            return complaints.complain(ticket.ref, words, now=now, source="survey")
        except (InvalidInput, RateLimited) as problem:
            raise ComplaintNotTaken(form, problem, words[:limit]) from None

    def _record(
        self, ticket: Ticket, *, score: int, effort: int | None, comment: str | None, now: datetime
    ) -> Ticket:
        """Write the answer with a versioned commit: it cannot overwrite a concurrent
        auto-close (nor be overwritten by it); the loser re-reads and writes again. The
        answer already stored, posted again (a reload, a double click, a script), writes
        and publishes nothing: no commit, no event, no acknowledge run (attack 8, F3)."""

        posted = (score, effort, comment)

        def answered(current: Ticket) -> TicketChange | None:
            kept = current.survey
            if kept.answered_at is not None and (kept.score, kept.effort, kept.comment) == posted:
                return None
            survey = replace(
                current.survey,
                score=score,
                effort=effort,
                comment=comment,
                answered_at=now,
                first_answered_at=current.survey.first_answered_at or now,
            )
            updated = replace(current, survey=survey, updated_at=now)
            return TicketChange(
                before=current,
                after=updated,
                at=now,
                events=[
                    SurveyAnswered(
                        ref=current.ref,
                        score=score,
                        effort=effort,
                        comment=comment,
                        low=score in LOW_SCORES,
                        team=current.team,
                        answered_at=now.isoformat(),
                    )
                ],
                history=[("survey_answered", {"score": score, "effort": effort})],
                effects=stats.survey_answered(updated, config=self.config),
            )

        return change_ticket(self.uow, ticket.ref, answered)

    # ------------------------------------------------------------------ helpers
    def _ticket(self, token: str, now: datetime) -> Ticket:
        return self._opened(SURVEY, token, now)[0]

    def _count(self, ticket: Ticket, source_ip: str, now: datetime) -> None:
        """One more answer of the client and of ``ticket`` this hour; :class:`RateLimited`
        past either. Counted before the body is read, as the customer's page counts: a
        refused post costs its hit too, and posts from many clients still use up the
        ticket's hour (attack 8, F3)."""
        limits = self.config.limits
        limit_client(
            self.repo,
            client_key(source_ip),
            scope="SURVEY-IP",
            network_scope="SURVEY-NET",
            limit=limits.survey_answers_per_ip_per_hour,
            per_network=self.config.limits.clients_per_network,
            what="address",
            now=now,
        )
        limit_rate(
            self.repo,
            f"SURVEY#{ticket.ref}",
            limit=limits.survey_answers_per_ticket_per_hour,
            what="ticket",
            now=now,
        )


def _score_or_none(text: str | None) -> int | None:
    try:
        return _answer(text, "score", required=False)
    except InvalidInput:
        return None


def _answer(text: str | None, field: str, *, required: bool) -> int | None:
    """A 1..5 answer from a form field."""
    if text is None or not text.strip():
        if required:
            raise InvalidInput(field, "is required")
        return None
    value = text.strip()
    if value not in {"1", "2", "3", "4", "5"}:
        raise InvalidInput(field, "must be a whole number from 1 to 5")
    return int(value)
