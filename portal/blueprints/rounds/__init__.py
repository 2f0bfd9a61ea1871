from . import sections  # noqa: F401  (registers the PM home section and the project panel)
from .views import bp  # noqa: F401
