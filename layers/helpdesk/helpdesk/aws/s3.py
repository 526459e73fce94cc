"""S3 adapter: the raw-mail store (inbound MIME and attachments)."""

from __future__ import annotations

from helpdesk.aws.clients import client
from helpdesk.errors import NotStored, TransientError


class S3MailStore:
    """Raw inbound mail (written by SES under ``inbound/``) and the attachments we keep."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self._s3 = client("s3")

    def read(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
            return bytes(response["Body"].read())
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                raise NotStored(f"s3://{self.bucket}/{key}") from error
            raise TransientError(f"s3 get {key}: {code}") from error

    def write(self, key: str, data: bytes, content_type: str) -> str:
        from botocore.exceptions import ClientError

        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                ServerSideEncryption="AES256",
            )
        except ClientError as error:
            raise TransientError(f"s3 put {key}: {error}") from error
        return key
