"""Background job pages: a job's state and progress (polled by htmx) and its result."""
from .views import bp  # noqa: F401
