"""The quarterly rollup (DESIGN §4.5): the close dashboard, preview, publication, reports."""
from .views import bp  # noqa: F401
from . import downloads  # noqa: F401,E402  (the file routes)
from . import cli  # noqa: F401,E402  (registers the commands on bp)
