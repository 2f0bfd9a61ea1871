"""Complaint pages (DESIGN §4.7): the list with both timers, staff intake, one complaint with
its clocks, evidence, timeline and a form per allowed step, the monthly report, and
`flask complaint-timers`."""
from . import cli  # noqa: F401  (flask complaint-timers)
from . import report  # noqa: F401  (the monthly report's views, on bp)
from . import sections  # noqa: F401  (the quality desk's calls on the home page)
from .views import bp  # noqa: F401
