"""Shared column helpers. Timestamps are naive UTC; templates convert for display."""
from datetime import datetime, timezone

from sqlalchemy import CheckConstraint

#: the languages of templates and contacts (forms, e-mails)
LANGUAGES = ("zh", "en")


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def one_of(column: str, values) -> CheckConstraint:
    """CHECK that ``column`` holds one of ``values`` (NULL passes, as in SQL), named
    ``ck_<table>_<column>`` by the naming convention so batch migrations keep it."""
    assert all("'" not in v for v in values)
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)
