"""Raw mails that the bench and the tests both build (plain Python, nothing else)."""

from __future__ import annotations


def text_mail(body: str, *, sender: str = "Anna <anna@example.com>", kind: str = "html") -> bytes:
    """A one-part mail to the desk whose body is ``body`` as ``text/<kind>`` in UTF-8."""
    return (
        f"From: {sender}\r\nTo: support@support.example\r\nSubject: Order 5521\r\n"
        "Message-ID: <hostile@example.com>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/{kind}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}"
    ).encode()
