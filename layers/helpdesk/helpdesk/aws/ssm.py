"""SSM adapter: secrets (the survey-link signing key) from Parameter Store."""

from __future__ import annotations

from helpdesk.aws.clients import client
from helpdesk.errors import NotSetUp


def secret_parameter(name: str) -> bytes:
    """A SecureString parameter's value, decrypted (read once per container by callers);
    :class:`NotSetUp` when no parameter has that name (a deployment step left out)."""
    from botocore.exceptions import ClientError

    try:
        response = client("ssm").get_parameter(Name=name, WithDecryption=True)
    except ClientError as error:
        # GetParameter answers ParameterNotFound for a name that does not exist
        # (SSM API Reference, GetParameter, Errors).
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            raise NotSetUp(f"the SSM parameter {name} does not exist") from None
        raise
    return str(response["Parameter"]["Value"]).encode("utf-8")
