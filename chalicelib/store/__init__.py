"""Adapters to DynamoDB (pynamodb) and S3: the only code that touches them. Clients are passed in."""

from chalicelib.store.blobs import BlobStore
from chalicelib.store.metadata import EntityRecord, MetadataStore
from chalicelib.store.models import Models, build_models

__all__ = ["BlobStore", "EntityRecord", "MetadataStore", "Models", "build_models"]
