"""The three-year archive (DESIGN §4.6): hand-over, receipt, records, holds, disposal."""
from .views import bp  # noqa: F401
from . import cli  # noqa: F401,E402  (registers `flask archive-report` on bp)
