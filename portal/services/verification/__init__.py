"""Verifying a quarter's responses (DESIGN §4.5.1): the suspicion flags the portal computes for
the quality department (``flags``). Verifying and rejecting come next (issue 13)."""
from .flags import FLAG_CODES, Flag, flags_for

__all__ = ["FLAG_CODES", "Flag", "flags_for"]
