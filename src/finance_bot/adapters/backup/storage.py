"""Copies of backup files in S3-compatible object storage (docs/adr/0006)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class StorageError(RuntimeError):
    """An upload or download failed; the message names the object, never a credential."""


@dataclass(frozen=True)
class S3Target:
    bucket: str
    endpoint: str | None = None  # None: AWS itself
    region: str | None = None
    access_key_id: str | None = None  # None: boto3's own lookup (instance role, ~/.aws)
    secret_access_key: str | None = field(default=None, repr=False)
    prefix: str = ""

    def key_for(self, file_name: str) -> str:
        prefix = self.prefix.strip("/")
        return f"{prefix}/{file_name}" if prefix else file_name

    def url_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def upload(path: Path, target: S3Target) -> str:
    """Upload `path` under the target's prefix; return its key once its size is confirmed."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    key = target.key_for(path.name)
    client = _client(target)
    try:
        # upload_file switches to a multipart upload for large files by itself.
        client.upload_file(str(path), target.bucket, key)
        stored = client.head_object(Bucket=target.bucket, Key=key)
    except (BotoCoreError, ClientError, Boto3Error) as error:
        raise StorageError(f"upload to {target.url_for(key)} failed: {error}") from error
    size = int(stored["ContentLength"])
    if size != path.stat().st_size:
        raise StorageError(
            f"upload to {target.url_for(key)} stored {size} bytes, not {path.stat().st_size}"
        )
    return key


def download(key: str, destination: Path, target: S3Target) -> None:
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        _client(target).download_file(target.bucket, key, str(destination))
    except (BotoCoreError, ClientError, Boto3Error) as error:
        raise StorageError(f"download of {target.url_for(key)} failed: {error}") from error


def _client(target: S3Target) -> Any:
    # Imported here so that a bot that never backs up does not pay for loading boto3.
    import boto3
    from botocore.config import Config

    config = Config(
        # Path-style addressing (endpoint/bucket/key): MinIO, Garage and local test servers
        # have no per-bucket host names; AWS, B2, R2 and Wasabi accept it too.
        s3={"addressing_style": "path"} if target.endpoint else {},
        # Newer botocore adds CRC checksums to every request by default, which several
        # S3-compatible stores reject; send them only where S3 requires them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": 5, "mode": "standard"},
    )
    return boto3.client(
        "s3",
        endpoint_url=target.endpoint,
        region_name=target.region,
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key,
        config=config,
    )
