"""The key-account programme (DESIGN §4.9): proposals and decisions, the account's team, plan and
relationship-callback schedule (``views``), and the client's service report (``report``)."""
from . import sections  # noqa: F401  (the team's accounts and the executives' proposals on the home page)
from .views import bp  # noqa: F401
from . import report  # noqa: F401
