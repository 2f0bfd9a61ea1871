"""The three-year archive (DESIGN §4.6): hand-over of a published quarter's forms, read-only
archived records (guard), archive copies, legal holds, disposal with tombstones, the overview."""
from . import guard  # noqa: F401  (the flush guard on archived forms, for every session)
from . import copies  # noqa: F401  (registers the "archive_copies" job)
from .guard import ArchivedRecord, ensure_editable  # noqa: F401
