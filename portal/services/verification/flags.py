"""Suspicion flags on responses (issue 13, DESIGN §4.5.1): reasons for the quality department to
look twice before judging a form authentic. None of them rejects anything by itself.

- ``fast``: an online form submitted less than ``verification.fast_seconds`` after its link was
  opened (the invitation's first opening is the response's ``started_at``);
- ``straight_line``: the same answer on every scale question (three or more answered);
- ``shared_device``: forms of several different contacts sent from one address and browser in
  the same quarter;
- ``on_behalf``: filled in by staff on the client's behalf;
- ``edited``: its answers were corrected after submission (``corrections``), with how many times
  and the last time.

Each flag is one SQL statement over the responses asked about, whatever their number."""
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, func, select

from ...extensions import db
from ...models import Answer, Question, Response
from ..settings import get_setting

FLAG_CODES = ("fast", "straight_line", "shared_device", "on_behalf", "edited")
#: a form with fewer scale answers than this cannot be told from an honest uniform one
STRAIGHT_LINE_MIN = 3


@dataclass(frozen=True)
class Flag:
    code: str
    detail: dict


def _fast(ids):
    limit = get_setting("verification.fast_seconds")
    rows = db.session.execute(select(Response.id, Response.started_at, Response.submitted_at).where(
        Response.id.in_(ids), Response.channel == "online", Response.started_at.is_not(None)))
    for response_id, started, submitted in rows:
        seconds = (submitted - started).total_seconds()
        if 0 <= seconds < limit:
            yield response_id, Flag("fast", {"seconds": round(seconds), "limit": limit})


def _straight_line(ids):
    rows = db.session.execute(
        select(Answer.response_id, func.count(Answer.id), func.min(Answer.raw_value))
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.response_id.in_(ids), Question.type == "scale", Answer.is_na.is_(False),
               Answer.raw_value.is_not(None))
        .group_by(Answer.response_id)
        .having(and_(func.count(Answer.id) >= STRAIGHT_LINE_MIN,
                     func.count(func.distinct(Answer.raw_value)) == 1)))
    for response_id, answered, value in rows:
        yield response_id, Flag("straight_line", {"answers": answered, "value": value})


def _shared_device(ids):
    quarters = select(Response.quarter).where(Response.id.in_(ids)).distinct()
    shared = (select(Response.quarter, Response.client_ip, Response.user_agent,
                     func.count(func.distinct(Response.contact_id)).label("contacts"))
              .where(Response.quarter.in_(quarters), Response.client_ip.is_not(None),
                     Response.contact_id.is_not(None))
              .group_by(Response.quarter, Response.client_ip, Response.user_agent)
              .having(func.count(func.distinct(Response.contact_id)) > 1).subquery())
    rows = db.session.execute(
        select(Response.id, shared.c.client_ip, shared.c.contacts)
        .join(shared, and_(shared.c.quarter == Response.quarter, shared.c.client_ip == Response.client_ip,
                           func.coalesce(shared.c.user_agent, "") == func.coalesce(Response.user_agent, "")))
        .where(Response.id.in_(ids)))
    for response_id, address, contacts in rows:
        yield response_id, Flag("shared_device", {"address": address, "contacts": contacts})


def _on_behalf(ids):
    for (response_id,) in db.session.execute(select(Response.id).where(Response.id.in_(ids),
                                                                      Response.channel == "on_behalf")):
        yield response_id, Flag("on_behalf", {})


def _edited(ids):
    rows = db.session.execute(select(Response.id, Response.edit_count, Response.edited_at).where(
        Response.id.in_(ids), Response.edited_at.is_not(None)))
    for response_id, count, at in rows:
        yield response_id, Flag("edited", {"count": count, "at": at.isoformat(timespec="seconds")})


def flags_for(response_ids) -> dict:
    """{response id: [Flag, ...]} for the responses given (those without a flag are absent),
    in the order of ``FLAG_CODES``."""
    ids = list(response_ids)
    found = defaultdict(list)
    if not ids:
        return {}
    for check in (_fast, _straight_line, _shared_device, _on_behalf, _edited):
        for response_id, flag in check(ids):
            found[response_id].append(flag)
    return dict(found)
