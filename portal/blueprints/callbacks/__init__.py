"""The callback desk pages (quality): draw the quarter's sample, the agents' queue, logging
attempts and the callback form, the callback summary; `flask sample-callbacks`."""
from . import sections  # noqa: F401  (the quality home section)
from .views import bp  # noqa: F401
from . import cli  # noqa: F401
