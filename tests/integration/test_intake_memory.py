"""A 25 MB message goes through email intake without being held in several copies.

Measured with tracemalloc (allocations, not time, so the result does not depend on the
machine): the S3 read, the parse and the attachments written back each need about one
message's worth of memory at their peak, and the raw bytes must be gone once parsed. The
bench issue measures the process's RSS separately.
"""

from __future__ import annotations

import os
import tracemalloc
from email.message import EmailMessage

import pytest

from helpdesk_local.stack import LocalStack
from helpdesk_local.state import build_state

MESSAGE_BYTES = 25 * 1024 * 1024
# The raw mail, its parsed MIME tree (the encoded parts as text) and the decoded
# attachments are each about one message size; moto's copies in the S3 calls add a little.
# A fourth whole copy (the raw bytes kept alive after the parse, a str of the whole
# message) would cross this line.
PEAK_LIMIT = 4 * MESSAGE_BYTES


def _large_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Anna Schmidt <anna@example.com>"
    mail["To"] = "support@support.example"
    mail["Subject"] = "Scans of the damaged parcel"
    mail["Message-ID"] = "<scans-1@example.com>"
    mail.set_content("The scans are attached.\n")
    # Random bytes do not compress and base64 inflates them by 4/3: three 6 MiB scans
    # make a message of 25 MB, each scan under the desk's 10 MiB attachment limit.
    for number in range(1, 4):
        mail.add_attachment(
            os.urandom(6 * 1024 * 1024 + 128 * 1024),
            maintype="application",
            subtype="pdf",
            filename=f"scan-{number}.pdf",
        )
    return mail.as_bytes()


@pytest.mark.slow
def test_a_25_mb_message_is_taken_in_without_holding_several_copies(
    stack: LocalStack,
) -> None:
    # A small mail first, so that imports and caches are not counted against the big one.
    stack.deliver_email(b"From: a@example.org\r\nSubject: warm-up\r\n\r\nhello\r\n")
    stack.drain()
    raw = _large_mail()
    size = len(raw)
    assert size >= MESSAGE_BYTES * 0.95
    stack.deliver_email(raw)
    del raw

    tracemalloc.start()
    try:
        stack.drain()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stack.invocation_errors == []
    scans = build_state(stack)["tickets"][-1]["messages"][0]["attachments"]
    assert [a["filename"] for a in scans] == ["scan-1.pdf", "scan-2.pdf", "scan-3.pdf"]
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB message"
