"""Pages for people outside the portal: the public complaint form (``views``) and the check on a
complaint's handling answered through its link (``check``) (DESIGN §4.7)."""
from . import check  # noqa: F401
from .views import bp  # noqa: F401
