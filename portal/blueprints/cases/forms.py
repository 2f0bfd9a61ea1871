"""The upload and column-mapping forms of the ticket import."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional

from ...forms import DataForm, choices, str_or_none
from ...services.cases.mapping import FIELD_LABELS, FIELDS


class UploadForm(DataForm):
    file = FileField(_l("Ticket export (CSV or XLSX)"))
    mapping_name = SelectField(_l("Column mapping"), coerce=str_or_none, validators=[Optional()])


class MappingForm(DataForm):
    """One select per ticket field (``map_<field>``), choosing among the file's headers."""
    stored = HiddenField()
    sheet = HiddenField()
    save_as = StringField(_l("Save this mapping as (optional)"), validators=[Optional(), Length(max=80)])

    @classmethod
    def for_headers(cls, headers, mapping, *, stored, sheet=None, formdata=None):
        class Bound(cls):
            pass
        options = choices([("", _l("(not in the file)")), *((h, h) for h in headers)])
        for field in FIELDS:
            setattr(Bound, f"map_{field}", SelectField(FIELD_LABELS[field], coerce=str_or_none,
                                                       choices=options, validators=[Optional()]))
        form = Bound(formdata=formdata) if formdata is not None else Bound(formdata=None)
        if formdata is None:
            for field in FIELDS:
                getattr(form, f"map_{field}").data = mapping.get(field)
            form.stored.data, form.sheet.data = stored, sheet or ""
        return form

    def mapping(self):
        return {f: getattr(self, f"map_{f}").data for f in FIELDS if getattr(self, f"map_{f}").data}
