"""Past quarters' results imported so trends have history from day one (issue 13 §7)."""
from .views import bp  # noqa: F401
