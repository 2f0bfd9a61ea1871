from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ...forms import DataForm
from ...models import PRIORITIES, TEMPLATE_KINDS
from ...services.measurement_plans import ITEM_MAX, TEXT_MAX, percent_as_rate, rate_as_percent


def frequency_field(kind):
    return f"frequency_{kind}"


def owner_field(kind):
    return f"owner_{kind}"


def rate_field(priority):
    return f"rate_{priority.lower()}"


class MeasurementPlanForm(DataForm):
    """A version of the year's plan: one frequency and owner per survey kind, one rate (in
    percent) per priority; field names are the ones the service's errors name."""
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(max=TEXT_MAX)], render_kw={"rows": 3})
    scope = TextAreaField(_l("Scope"), validators=[DataRequired(), Length(max=TEXT_MAX)], render_kw={"rows": 3})
    note = TextAreaField(_l("What changed in this version"), validators=[Optional(), Length(max=TEXT_MAX)],
                         render_kw={"rows": 2})

    @classmethod
    def from_plan(cls, content):
        """An unbound form showing ``content`` (a version's or the defaults), rates in percent."""
        form = cls(formdata=None, purpose=content["purpose"], scope=content["scope"])
        for kind in TEMPLATE_KINDS:
            form[frequency_field(kind)].data = content["frequencies"].get(kind)
            form[owner_field(kind)].data = content["owners"].get(kind)
        for priority in PRIORITIES:
            form[rate_field(priority)].data = rate_as_percent(content["sampling_rates"].get(priority))
        return form

    def plan_data(self):
        """What the form sent as ``save_plan`` takes it: rates as shares of 1."""
        return {
            "purpose": self.purpose.data, "scope": self.scope.data, "note": self.note.data,
            "frequencies": {k: self[frequency_field(k)].data for k in TEMPLATE_KINDS},
            "owners": {k: self[owner_field(k)].data for k in TEMPLATE_KINDS},
            "sampling_rates": {p: percent_as_rate(self[rate_field(p)].data) for p in PRIORITIES},
        }


for _kind in TEMPLATE_KINDS:
    setattr(MeasurementPlanForm, frequency_field(_kind), StringField(
        _l("Frequency"), validators=[DataRequired(), Length(max=ITEM_MAX)]))
    setattr(MeasurementPlanForm, owner_field(_kind), StringField(
        _l("Owner"), validators=[DataRequired(), Length(max=ITEM_MAX)]))
for _priority in PRIORITIES:
    setattr(MeasurementPlanForm, rate_field(_priority), DecimalField(
        _l("%(priority)s sampling rate (%%)", priority=_priority), places=None,
        render_kw={"min": 0, "max": 100, "step": "any"},
        invalid_value_message=_l("Enter a number from 0 to 100.")))
