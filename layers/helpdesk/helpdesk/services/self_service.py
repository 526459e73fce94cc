"""Self-service: the articles an acknowledgement offers, and the customer's "this answered
my question" that solves the ticket.

At intake (:func:`suggester`) a new ticket gets up to ``knowledge.suggest`` confident
articles of its language (never a saved reply); the ticket keeps their slugs
(``Ticket.suggested``) and its TicketOpened carries them for the acknowledgement.
Each article in that mail has a signed link ``{public_url}/answer/{token}`` (purpose
``answer``, subject ``<ref>:<slug>``, valid ``knowledge.answer_link_ttl``, helpdesk.links).

Following the link shows the article with a button and records nothing: mail security
scanners open every link in a mail. Only the page's POST (:meth:`SelfServiceDesk.confirm`)
solves the ticket, through the same unit of work as every other solve
(helpdesk.services.clocks.apply, then effects: the clocks stop, the agent's slot is given
back with a CapacityFreed, the survey timer starts), flagged ``self_served`` with the
article in ``self_served_article``; a SelfServed event tells the assignee. No agent answered
it: the reports credit nobody with a first response, resolution or target met
(helpdesk.services.stats), and no survey goes out (the customer never spoke to the team;
the auto-close timer still runs). A customer's reply afterwards reopens it like any solved
ticket, and from then on it is an ordinary one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.errors import HelpdeskError, InvalidInput
from helpdesk.links import LinkDesk, LinkKind, LinkRefused
from helpdesk.model import ACTIVE_STATUSES, is_reference
from helpdesk.post_input import form_fields

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.knowledge import KnowledgeBase, StoredArticle
    from helpdesk.model import Ticket
    from helpdesk.unit_of_work import TicketChange

# The purpose an answer link is signed for (helpdesk.links): it opens nothing else.
ANSWER_LINK = "answer"
# Characters of a request that retrieval reads: the question is in the subject and the first
# lines (the labelled set's longest is under 100 characters), and matching costs about 20 ms
# per 1,000 characters (helpdesk bench), so a 25 MB mail costs what a short one does.
SUGGEST_TEXT_CHARS = 1000
# The confirmation form holds one field; anything much larger is not our page's post.
ANSWER_BODY_MAX_BYTES = 1024
# The flag of a ticket the customer solved with an article (CONTRACT section 7).
SELF_SERVED = "self_served"
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")


def suggester(
    knowledge: Callable[[], KnowledgeBase] | None, config: Config
) -> Callable[[str, str], list[str]] | None:
    """What intake asks for a new ticket's suggestions: ``(text, language)`` -> the slugs
    of up to ``knowledge.suggest`` confident articles, best first. None when suggestions
    are off. The knowledge base is loaded on the first question only."""
    if knowledge is None or config.knowledge.suggest <= 0:
        return None
    limit = config.knowledge.suggest

    def suggest(text: str, language: str) -> list[str]:
        found = knowledge().suggest(text[:SUGGEST_TEXT_CHARS], language, limit=limit)
        return [s.article.slug for s in found]

    return suggest


# ---------------------------------------------------------------------- links
def _ref_and_slug(subject: str) -> tuple[str, str] | None:
    ref, _, slug = subject.partition(":")
    return (ref, slug) if is_reference(ref) and _SLUG.fullmatch(slug) else None


ANSWER: LinkKind[tuple[str, str]] = LinkKind(ANSWER_LINK, _ref_and_slug, lambda named: named[0])


def make_answer_token(ref: str, slug: str, expires: datetime, key: bytes) -> str:
    """A token for "``slug`` answered ``ref``" that verifies until ``expires``."""
    return ANSWER.make(f"{ref}:{slug}", expires, key)


def answer_url(public_url: str, token: str) -> str:
    """The page of one suggested article for one ticket."""
    return f"{public_url.rstrip('/')}/answer/{token}"


def answer_links(
    ref: str,
    suggested: list[tuple[str, str]],
    *,
    public_url: str,
    key: bytes,
    expires: datetime,
) -> list[dict[str, str]]:
    """``{"slug", "title", "url", "answered_url"}`` of each suggested article, as the
    acknowledgement lists them: ``url`` opens the article with its "this answered my
    question" button, ``answered_url`` the same page asking first for that confirmation.
    Both only show: the page's button posts."""
    links = []
    for slug, title in suggested:
        if _SLUG.fullmatch(slug) is None:
            continue
        url = answer_url(public_url, make_answer_token(ref, slug, expires, key))
        links.append(
            {"slug": slug, "title": title, "url": url, "answered_url": f"{url}?answered=yes"}
        )
    return links


# ---------------------------------------------------------------------- the page
@dataclass(frozen=True)
class AnswerPage:
    """A genuine link: its ticket and article (``token`` is where the form posts)."""

    ticket: Ticket
    article: StoredArticle
    token: str

    @property
    def open(self) -> bool:
        """The ticket can still be solved by the customer (not solved, not closed)."""
        return self.ticket.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class Confirmed:
    """What a confirmation did: ``solved`` False when the ticket was already solved or
    closed (nothing changed)."""

    page: AnswerPage
    solved: bool


class ArticleGone(HelpdeskError):
    """A genuine link to an article that is no longer published in its language."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__("article gone")
        self.ticket = ticket


class ConfirmationNotTaken(HelpdeskError):
    """A post that is not the page's form: ``problem`` says why, ``page`` is shown again."""

    def __init__(self, page: AnswerPage, problem: InvalidInput) -> None:
        super().__init__(str(problem))
        self.page = page
        self.problem = problem


@dataclass(frozen=True)
class SelfServiceDesk(LinkDesk):
    """The article behind an answer link, and the confirmation posted from its page."""

    knowledge: Callable[[], KnowledgeBase]

    def open(self, token: str, *, now: datetime) -> AnswerPage:
        """The article of a genuine link, in the ticket's language; records nothing.
        :class:`LinkRefused` or :class:`ArticleGone` otherwise."""
        ticket, (_, slug) = self._opened(ANSWER, token, now)
        if slug not in ticket.suggested:
            # Signed by us for an article this ticket was never offered: not our link.
            raise LinkRefused("forged")
        article = self.knowledge().article(slug, ticket.language)
        if article is None or article.reply:
            raise ArticleGone(ticket)
        return AnswerPage(ticket, article, token)

    def confirm(self, token: str, body: str, content_type: str, *, now: datetime) -> Confirmed:
        """Solve the ticket as self-served (the page's POST); on a ticket already solved or
        closed, nothing changes. :class:`LinkRefused`, :class:`ArticleGone` or
        :class:`ConfirmationNotTaken` otherwise."""
        page = self.open(token, now=now)
        try:
            fields = form_fields(body, content_type, max_bytes=ANSWER_BODY_MAX_BYTES)
        except InvalidInput as problem:
            raise ConfirmationNotTaken(page, problem) from None
        if fields.get("answered") != "yes":
            raise ConfirmationNotTaken(page, InvalidInput("answered", "must be yes"))
        solved = False

        def solve(ticket: Ticket) -> TicketChange | None:
            nonlocal solved
            solved = ticket.status in ACTIVE_STATUSES
            return self_served(ticket, page.article, at=now, config=self.config) if solved else None

        from helpdesk.unit_of_work import change_ticket

        stored = change_ticket(self.uow, page.ticket.ref, solve)
        return Confirmed(replace(page, ticket=stored), solved)


def self_served(
    ticket: Ticket, article: StoredArticle, *, at: datetime, config: Config
) -> TicketChange:
    """The change that solves ``ticket`` because ``article`` answered its customer: the
    status through :func:`helpdesk.services.clocks.apply` like any solve, the flag and the
    article kept for the reports, and the events (the assignee is told; the customer saw
    the thanks page, so no progress mail: ``in_reply``)."""
    from helpdesk import timers
    from helpdesk.events import EventContact, SelfServed, status_changes
    from helpdesk.services.clocks import Change, apply
    from helpdesk.unit_of_work import TicketChange

    solved = apply(ticket, Change(status="solved"), at=at, config=config)
    after = replace(
        solved,
        flags=list(dict.fromkeys([*solved.flags, SELF_SERVED])),
        self_served_article=article.slug,
    )
    by = ticket.contact_email
    return TicketChange(
        before=ticket,
        after=after,
        at=at,
        events=[
            *status_changes(ticket, after, by=by, in_reply=True),
            SelfServed(
                ref=ticket.ref,
                article=article.slug,
                title=article.title,
                assignee=ticket.assignee,
                subject=ticket.subject,
                contact=EventContact.of(ticket),
            ),
        ],
        history=[
            ("self_served", {"article": article.slug, "by": by}),
            ("status_changed", {"from": ticket.status, "to": after.status, "by": by}),
        ],
        # Nobody on the team spoke to her: nothing to ask her about (the derived solve
        # would start the survey timer; the auto-close timer it starts stays).
        timers={timers.SURVEY: None},
    )
