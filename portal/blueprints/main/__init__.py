from . import sections  # noqa: F401  (registers the foundation's home sections)
from .views import bp  # noqa: F401
