"""Closed service tickets from the ticket system (DESIGN §4.3.1): reading CSV/XLSX exports,
mapping their columns, checking every row, and importing a file all-or-nothing."""
from . import importer  # noqa: F401  (registers the "import_cases" job)
