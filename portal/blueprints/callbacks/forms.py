from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from ...forms import DataForm, choices
from ...labels import ATTEMPT_OUTCOME_LABELS
from ...models import ATTEMPT_OUTCOMES
from ...services.quarters import QUARTER_RE


class DrawForm(DataForm):
    quarter = StringField(_l("Quarter"), validators=[DataRequired(), Regexp(QUARTER_RE.pattern,
                                                                           message=_l("Write the quarter as 2026Q4."))])
    seed = IntegerField(_l("Seed (optional: to repeat an earlier draw)"),
                        validators=[Optional(), NumberRange(min=0, max=2**31 - 1)])


class AttemptForm(DataForm):
    outcome = SelectField(_l("Outcome"), choices=choices([(o, ATTEMPT_OUTCOME_LABELS[o]) for o in ATTEMPT_OUTCOMES]),
                          validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    version = HiddenField(validators=[DataRequired()])
