"""Characters that text a person or a mail sent us may not carry further: one table each,
shared by the form, the channels, the customer's page, complaints and mail headers, and
the two cleanings every typed text goes through (:func:`typed_text`, :func:`one_line`);
and the one way a text is shortened for a reader (:func:`cut_at_word`)."""

from __future__ import annotations

import re

# The C0 and C1 control characters but tab, line feed and carriage return, and DEL: they
# mean nothing in a text box, and some terminals and mail clients act on them.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The explicit directional formatting characters (Unicode UAX #9 section 2: embeddings,
# overrides, isolates), for ``str.translate`` to remove: text holding U+202E reads reversed
# ("Trojan Source", CVE-2021-42574), in a page or in the reader's list of mails. The
# implicit marks U+200E/U+200F stay: right-to-left text needs them and they reorder nothing
# on their own.
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
# What ends a line, for a text that must be one (Unicode's line and paragraph separators
# and NEL too: a mail client may break a header there).
LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85]+")


def typed_text(value: str) -> str:
    """What a person typed (in the form, a channel, the customer's page), without the
    control characters and the explicit directional formatting characters it may not
    carry further."""
    return CONTROL_CHARACTERS.sub("", value).translate(BIDI_CONTROLS)


def one_line(value: str) -> str:
    """A typed name, subject or choice as one line with single spaces. Such text ends up
    in mail headers: no line break may survive; nor a directional override, which reverses
    what follows it in an agent's mail, an address printed after a name among it
    (attack 9, F4)."""
    # Line breaks first: NEL (U+0085) is a C1 control too, which typed_text would drop
    # with nothing in its place.
    return " ".join(typed_text(LINE_BREAKS.sub(" ", value)).split())


def cut_at_word(text: str, limit: int) -> str:
    """``text`` when it is at most ``limit`` characters; else its start, cut at the last
    space within them (or, with none, at ``limit`` - 1), with "…" to say so."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = head.rsplit(" ", 1)[0] if " " in head else ""
    return (cut or text[: limit - 1]) + "…"
