"""Verifying a quarter's responses (DESIGN §4.5.1): the suspicion flags the portal computes for
the quality department (``flags``), judging forms authentic or rejected (``decisions``), and the
queue they are judged from (``queue``)."""
from .decisions import VERDICTS, judge, may_verify
from .flags import FLAG_CODES, Flag, flags_for
from .queue import QueueFilters, queue_page

__all__ = ["VERDICTS", "judge", "may_verify", "FLAG_CODES", "Flag", "flags_for", "QueueFilters", "queue_page"]
