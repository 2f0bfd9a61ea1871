"""Past quarters' results imported so trends have history from day one (issue 13 §7): the file
format and its template (``format``), row checks (``rows``), the all-or-nothing import, inline or
as the ``import_history`` job (``importer``), and the figures the trend reads (``results``)."""
from . import importer  # noqa: F401  (registers the "import_history" job)
from .importer import HistoryOutcome, import_history, queue_history_import  # noqa: F401
from .results import ImportedQuarter, imported_by_project, imported_overall  # noqa: F401
