"""Improvement plans (DESIGN §4.8)."""
from .views import bp  # noqa: F401
