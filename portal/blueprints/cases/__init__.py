"""Importing closed service tickets (quality, admin): upload, column mapping with a preview,
the import as a background job, the import history and its error lists; `flask import-cases`."""
from .views import bp  # noqa: F401
from . import cli  # noqa: F401,E402
