"""The quality department's verification queue (DESIGN §4.5.1)."""
from .views import bp  # noqa: F401
