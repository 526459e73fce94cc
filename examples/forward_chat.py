#!/usr/bin/env python3
"""Forward a chat transcript to the help desk (docs/CHANNELS.md); Python's standard library
only, so a chat widget's server can run it as it is.

    HELPDESK_CHANNEL_SECRET=... python3 examples/forward_chat.py \\
        --url https://help.example.com --channel chat transcript.json

The transcript is JSON::

    {"conversation": "c-42",
     "customer": {"email": "ann@example.com", "name": "Ann"},   # or phone / handle
     "language": "en", "timezone": "Europe/Berlin",             # optional
     "messages": [{"id": "m-1", "author": "customer", "text": "Hello ..."},
                  {"id": "m-2", "author": "Bot", "text": "Let me find a person."},
                  {"id": "m-3", "author": "customer", "text": "My invoice ..."}]}

Each customer message is posted to ``POST /intake/messages`` in order, signed with the
channel's secret; the lines of others (a bot, the widget's own agent) go along as context in
the customer's next message. The first message opens a ticket, the others join it (the same
conversation). Running the script again posts nothing new: the desk takes each message id
once and answers with the same ticket. The secret is read from the environment (a command
line is visible to every user of the machine).

Requests are signed with this machine's clock, which the desk checks to within 300 seconds.
Against ``helpdesk local`` (a loopback ``--url``) the script signs with the local desk's
clock instead (``GET /_local/clock``), since ``/_local/advance`` moves it away from this
machine's; ``--clock machine`` or ``--clock desk`` chooses either one.

Exit status: 0 when every message was taken in, 1 when the desk refused one (its answer,
naming the field at fault, is printed), 2 for a transcript or option that cannot be used.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

ROUTE = "/intake/messages"
SECRET_VARIABLE = "HELPDESK_CHANNEL_SECRET"  # noqa: S105 (its name, not its value)
LOCAL_CLOCK = "/_local/clock"  # helpdesk local's time, {"clock": "2026-...+00:00"}
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``v1:<timestamp>:<body>`` (docs/CHANNELS.md)."""
    signed = b"v1:" + timestamp.encode("ascii") + b":" + body
    return "v1=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def desk_clock(url: str) -> float | None:
    """The local desk's time (``helpdesk local``'s ``GET /_local/clock``) as a Unix time,
    None when the desk at ``url`` has no such page (it is not a local desk)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + LOCAL_CLOCK, timeout=30) as response:  # noqa: S310
            clock = str(json.loads(response.read())["clock"])
        return datetime.fromisoformat(clock.replace("Z", "+00:00")).timestamp()
    except (OSError, ValueError, KeyError, TypeError):
        return None


def post(
    url: str, channel: str, secret: bytes, message: dict[str, Any], *, at: float | None = None
) -> tuple[int, Any]:
    """POST one message, signed at ``at`` (a Unix time: the desk's clock when it is not
    this machine's; None: now); the desk's status and JSON answer."""
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    timestamp = str(int(time.time() if at is None else at))
    # The scheme is http(s), checked in main (urllib would open file: URLs too).
    request = urllib.request.Request(  # noqa: S310
        url.rstrip("/") + ROUTE,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Helpdesk-Channel": channel,
            "X-Helpdesk-Timestamp": timestamp,
            "X-Helpdesk-Signature": signature(secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as refused:
        answer = refused.read()
        try:
            return refused.code, json.loads(answer)
        except ValueError:
            return refused.code, {"detail": answer.decode("utf-8", "replace")}


def messages_to_send(transcript: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's messages of ``transcript`` as the desk takes them, others' lines
    before each one carried along as context."""
    customer = transcript["customer"]
    extra = {key: transcript[key] for key in ("language", "timezone") if key in transcript}
    context: list[str] = []
    sending: list[dict[str, Any]] = []
    for line in transcript["messages"]:
        if line.get("author", "customer") != "customer":
            context.append(f"{line['author']}: {line['text']}")
            continue
        text = "\n".join([*context, "", line["text"]]) if context else line["text"]
        context = []
        message: dict[str, Any] = {
            "id": str(line["id"]),
            "conversation": str(transcript["conversation"]),
            "from": customer,
            "text": text,
        }
        if not sending:
            # The ticket's subject is the customer's own first words, not the bot's greeting
            # that leads the text (the desk would take the text's first line).
            first = line["text"].strip().splitlines()[0] if line["text"].strip() else ""
            message["subject"] = first[:78] + ("…" if len(first) > 78 else "")
        sending.append(message | extra)
    return sending


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Forward a chat transcript to the help desk.")
    parser.add_argument("transcript", type=Path, help="the transcript, JSON (see above)")
    parser.add_argument("--url", required=True, help="the desk's base URL")
    parser.add_argument("--channel", default="chat", help="the channel's name in the config")
    parser.add_argument(
        "--clock",
        choices=("auto", "machine", "desk"),
        default="auto",
        help="sign with this machine's clock, or with helpdesk local's (GET /_local/clock);"
        " auto: the local desk's for a loopback --url, else this machine's",
    )
    options = parser.parse_args(argv)
    address = urllib.parse.urlsplit(options.url)
    if address.scheme not in ("http", "https"):
        print(f"--url must be an http or https URL, not {options.url!r}", file=sys.stderr)
        return 2
    by_desk_clock = False
    if options.clock == "desk" or (options.clock == "auto" and address.hostname in LOOPBACK_HOSTS):
        by_desk_clock = desk_clock(options.url) is not None
        if not by_desk_clock and options.clock == "desk":
            print(
                f"{options.url} tells no clock ({LOCAL_CLOCK}): not helpdesk local?",
                file=sys.stderr,
            )
            return 2
    secret = os.environ.get(SECRET_VARIABLE, "").encode("utf-8")
    if not secret:
        print(f"set {SECRET_VARIABLE} to the channel's secret", file=sys.stderr)
        return 2
    try:
        sending = messages_to_send(json.loads(options.transcript.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"{options.transcript}: not a transcript ({error!r})", file=sys.stderr)
        return 2
    for message in sending:
        # Read again for each message: the local desk's clock may run faster than this
        # machine's (helpdesk local --speed), past the desk's 300 seconds within a transcript.
        at = desk_clock(options.url) if by_desk_clock else None
        status, answer = post(options.url, options.channel, secret, message, at=at)
        if status != 200:
            print(f"{message['id']}: refused ({status}): {json.dumps(answer)}", file=sys.stderr)
            return 1
        print(f"{message['id']}: {answer['ref']} ({answer['status']}) {answer['promise']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
