"""Wiring: the services of the control plane built from `Settings`, with their clients passed in.

A Lambda container builds this once and reuses it across invocations; the sandbox and the tests build
it for moto's endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.config import LOCAL_CREDENTIALS, Settings
from chalicelib.registration import RegistrationService
from chalicelib.store import BlobStore, MetadataStore, build_models


def aws_client(settings: Settings, service: str, session: Any = None) -> Any:
    import boto3
    from botocore.config import Config

    if session is None and settings.endpoint_url:
        session = boto3.session.Session(*LOCAL_CREDENTIALS)
    session = session or boto3.session.Session()
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    return session.client(service, region_name=settings.region, endpoint_url=settings.endpoint_url, config=config)


@dataclass
class Services:
    settings: Settings
    metadata: MetadataStore
    blobs: BlobStore
    registration: RegistrationService

    @classmethod
    def build(cls, settings: Settings, session: Any = None) -> Services:
        metadata = MetadataStore(build_models(settings))
        blobs = BlobStore(aws_client(settings, "s3", session), settings.data_bucket)
        return cls(settings, metadata, blobs, RegistrationService(metadata, blobs))
