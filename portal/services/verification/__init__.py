"""Verifying a quarter's responses (DESIGN §4.5.1): the suspicion flags the portal computes for
the quality department (``flags``), judging forms authentic or rejected (``decisions``), the
queue they are judged from (``queue``), and correcting a staff-entered form's answers
(``corrections``)."""
from .corrections import (CORRECTABLE_CHANNELS, correct_answers, correctable, corrections_of, may_correct,
                          published_revision)
from .decisions import VERDICTS, judge, may_verify
from .flags import FLAG_CODES, Flag, flags_for
from .queue import QueueFilters, queue_page

__all__ = ["CORRECTABLE_CHANNELS", "correct_answers", "correctable", "corrections_of", "may_correct",
           "published_revision", "VERDICTS", "judge", "may_verify", "FLAG_CODES", "Flag", "flags_for",
           "QueueFilters", "queue_page"]
