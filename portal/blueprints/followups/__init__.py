"""Follow-ups (DESIGN §4.4). Importing the service connects its ``response_submitted``
receiver, so every response from any channel opens its follow-up."""
from ...services import followups as _followups  # noqa: F401  (connects the hook)
from . import cli  # noqa: F401  (flask notify-overdue)
from . import sections  # noqa: F401  (the project page's panel)
from .views import bp  # noqa: F401
