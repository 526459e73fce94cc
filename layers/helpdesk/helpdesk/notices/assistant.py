"""The agent's assistant: the articles and saved replies that answer a ticket, for the mails
that bring the ticket to an agent (the assignment, each customer message relayed).

Retrieval is :meth:`helpdesk.knowledge.KnowledgeBase.assist` on the subject and the
customer's latest text, in the ticket's language (the customer's: a saved reply is inserted
in that language, and the articles are the ones the customer can read). Only confident
matches are shown, so a ticket nothing answers shows nothing. A saved reply is shown with
the exact ``#reply <slug>`` line to type; an article with its title and, when a help
centre is configured (``knowledge.help_centre_url``), the address of its page.

The knowledge base is loaded on the first mail that needs it (``Notifier.knowledge``), not
at the function's cold start (docs/KNOWLEDGE.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from helpdesk.notices import audience

if TYPE_CHECKING:
    from helpdesk.model import Ticket
    from helpdesk.notices.desk import Notifier

# At most this many articles and saved replies in one mail: the agent reads them at a glance.
SHOWN = 3
# What retrieval reads of a long mail: its opening says what it is about, and the rest
# (signatures, quoted history the intake did not recognise) would only cost time.
QUESTION_MAX_CHARS = 2000


def assistant(notifier: Notifier, ticket: Ticket, latest_text: str) -> list[dict[str, Any]]:
    """What the agent is shown for ``ticket`` whose customer last wrote ``latest_text``:
    ``[{"slug", "title", "reply", "command", "url"}]``, best first; ``[]`` when nothing is
    confident or no knowledge base is given. ``command`` is ``#reply <slug>`` for a saved
    reply (else ""), ``url`` the help-centre page of an article (else "")."""
    if notifier.knowledge is None:
        return []
    config = notifier.config
    language = audience.customer_language(ticket.language, config)
    question = f"{ticket.subject}\n{latest_text[:QUESTION_MAX_CHARS]}"
    found = notifier.knowledge().assist(question, language, limit=SHOWN)
    shown: list[dict[str, Any]] = []
    for suggestion in found:
        article = suggestion.article
        page = None if article.reply else config.knowledge.help_centre_page(language, article.slug)
        shown.append(
            {
                "slug": article.slug,
                "title": article.title,
                "reply": article.reply,
                "command": f"#reply {article.slug}" if article.reply else "",
                "url": page or "",
            }
        )
    return shown
