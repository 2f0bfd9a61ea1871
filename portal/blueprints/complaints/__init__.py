"""Complaint pages (DESIGN §4.7): the list with both timers, staff intake, one complaint with
its clocks, evidence, timeline and a form per allowed step, and `flask complaint-timers`."""
from . import cli  # noqa: F401  (flask complaint-timers)
from . import sections  # noqa: F401  (the quality desk's calls on the home page)
from .views import bp  # noqa: F401
