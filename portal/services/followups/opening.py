"""Opening a follow-up: a submitted response with an opinion or a low score opens one for the
project's PM, due a number of working days later. Connects to ``response_submitted``."""
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...models import FollowUp, FollowUpEvent
from ..audit import record_event
from ..hooks import response_submitted
from ..notifications import in_language_of, notify
from ..quarters import local_date
from ..settings import get_setting
from ..working_days import CalendarUnknown, add_working_days


def triggers_of(response, threshold) -> list:
    """The answers that call for a follow-up: every free-text answer with text, and every
    normalized score at or below ``threshold``. N/A never triggers."""
    from ..responses import answer_rows
    answers = {a.question.code: a for a in response.answers}
    found = []
    for row in answer_rows(response):
        answer = answers.get(row.code)
        if answer is None or answer.is_na:
            continue
        if answer.question.type == "text":
            if (answer.text_value or "").strip():
                found.append({"reason": "comment", "code": row.code, "question": row.text,
                              "answer": row.answer, "normalized": None})
        elif answer.normalized is not None and answer.normalized <= threshold:
            found.append({"reason": "low_score", "code": row.code, "question": row.text,
                          "answer": row.answer, "normalized": answer.normalized})
    return found


def due_date_for(start: date):
    """(due_on, missing_year): ``due_working_days`` working days after ``start``, or
    (None, year) when the working-day calendar of that year is missing."""
    try:
        return add_working_days(start, get_setting("followup.due_working_days")), None
    except CalendarUnknown as error:
        return None, getattr(error, "year", None) or start.year


def open_for_response(response) -> FollowUp | None:
    """Open the response's follow-up if it calls for one (at most one per response)."""
    existing = db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
    if existing is not None:
        return existing
    triggers = triggers_of(response, get_setting("followup.low_score_threshold"))
    if not triggers:
        return None
    project = response.project
    due_on, missing_year = due_date_for(local_date(response.submitted_at))
    followup = FollowUp(response_id=response.id, project_id=project.id, owner_id=project.pm_id,
                        state="open", triggers=triggers, due_on=due_on, due_calendar_missing=missing_year)
    db.session.add(followup)
    followup.events.append(FollowUpEvent(action="opened", from_state=None, to_state="open",
                                         note=_reasons(triggers)))
    db.session.flush()
    record_event("followup_opened", followup, detail={"response": response.id, "triggers": len(triggers),
                                                       "due_on": due_on, "calendar_missing": missing_year})
    owner = project.pm
    notify(owner, "followup_opened",
           _text(owner, lambda: _("Follow-up opened: %(project)s", project=project.code)),
           _text(owner, lambda: _("A response for %(project)s raised an opinion or a low score; "
                                  "contact the client again by %(due)s.", project=project.name,
                                  due=due_on.isoformat() if due_on else _("(due date unknown)"))),
           link=link_of(followup))
    return followup


@response_submitted.connect
def _on_response_submitted(response, **_extra):
    """Every channel records through submit_response, so every channel gets its follow-up."""
    open_for_response(response)


def _reasons(triggers):
    """The timeline's first note: the questions that opened it, as the form asked them."""
    return "; ".join(dict.fromkeys(t["question"] for t in triggers))


def link_of(followup) -> str:
    return f"/followups/{followup.id}"


def _text(user, build):
    """A message in the recipient's language (notifications are stored already translated)."""
    with in_language_of(user):
        return str(build())
