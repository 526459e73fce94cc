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
        code = error.response.get("Error", {}).get("Code")
        if code == "ParameterNotFound":
            raise NotSetUp(f"the SSM parameter {name} does not exist") from None
        # The role may not read or decrypt it (kms:Decrypt under a customer managed key):
        # a deployment mistake no retry mends, unlike throttling or a timeout.
        if code in ("AccessDeniedException", "AccessDenied"):
            raise PermissionError(f"may not read the SSM parameter {name}: {code}") from None
        raise
    return str(response["Parameter"]["Value"]).encode("utf-8")
