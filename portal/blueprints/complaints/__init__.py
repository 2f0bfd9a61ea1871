"""Complaint pages (DESIGN §4.7): the list with both timers, staff intake, one complaint with
its clocks, evidence, timeline and a form per allowed step, and `flask complaint-timers`."""
from . import cli  # noqa: F401  (flask complaint-timers)
from .views import bp  # noqa: F401
