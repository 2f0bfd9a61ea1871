"""Improvement plans (DESIGN §4.8): the list, a new plan, one plan with a form per step,
the quality desk's checks due on the home page, and `flask improvement-checks`."""
from . import cli  # noqa: F401  (flask improvement-checks)
from . import sections  # noqa: F401  (the checks due on the home page of quality and PMO)
from .views import bp  # noqa: F401
