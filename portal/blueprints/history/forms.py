"""The upload form of the historical results import."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired

from ...forms import DataForm


class HistoryUploadForm(DataForm):
    file = FileField(_l("Results file (CSV or XLSX)"), validators=[FileRequired(_l("Choose a file."))])
