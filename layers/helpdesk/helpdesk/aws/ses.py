"""SES adapter: sends composed MIME messages."""

from __future__ import annotations

from helpdesk.aws.clients import client
from helpdesk.errors import TransientError


class SesMailer:
    """Sends raw MIME through SES (v1 SendRawEmail: the message is ours byte for byte)."""

    def __init__(self) -> None:
        self._ses = client("ses")

    def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> str:
        from botocore.exceptions import ClientError

        try:
            response = self._ses.send_raw_email(
                Source=sender, Destinations=recipients, RawMessage={"Data": raw}
            )
        except ClientError as error:
            # Throttling ("Maximum sending rate exceeded") and 5xx: the delivery is retried
            # by the queue; the outbound record keeps the retry from sending twice.
            raise TransientError(f"ses send: {error}") from error
        return str(response["MessageId"])
