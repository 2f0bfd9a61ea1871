"""The key-account programme (DESIGN §4.9): proposals and decisions, the account's team, plan and
relationship-callback schedule (``views``), and the client's service report (``report``)."""
from .views import bp  # noqa: F401
