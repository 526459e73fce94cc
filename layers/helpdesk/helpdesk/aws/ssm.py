"""SSM adapter: secrets (the survey-link signing key) from Parameter Store."""

from __future__ import annotations

from helpdesk.aws.clients import client


def secret_parameter(name: str) -> bytes:
    """A SecureString parameter's value, decrypted (read once per container by callers)."""
    response = client("ssm").get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"]).encode("utf-8")
