"""Sales inquiries (DESIGN §4.2): the sales owner's due list, recording an inquiry with its
form, the inquiry page and its PDF, and the executives' acknowledgement of a major problem."""
from . import sections  # noqa: F401  (home sections and the project panel)
from .views import bp  # noqa: F401
