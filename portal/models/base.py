"""Shared column helpers. Timestamps are naive UTC; templates convert for display."""
from datetime import datetime, timezone


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)
