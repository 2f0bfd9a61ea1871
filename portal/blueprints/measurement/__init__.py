"""The yearly measurement plan (DESIGN §4.5, issue 13 §6): quality keeps it, versioned."""
from .views import bp  # noqa: F401
