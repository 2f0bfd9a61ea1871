"""The verification queue (DESIGN §4.5.1): a quarter's forms by verification state, with their
suspicion flags, oldest first; optionally only those carrying a flag (or one flag)."""
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from ...extensions import db
from ...models import Project, Response, User
from .flags import FLAG_CODES, flags_for

STATES = ("pending", "authentic", "rejected")


@dataclass(frozen=True)
class QueueFilters:
    quarter: str
    state: str | None = "pending"  # None: every state
    flag: str | None = None         # a code of FLAG_CODES, "any", or None (no filter)
    project_id: int | None = None


@dataclass(frozen=True)
class QueuePage:
    items: list
    flags: dict          # {response id: [Flag]}
    page: object         # the paginate() result (total, pages, has_next...)


def _query(filters):
    query = select(Response).where(Response.quarter == filters.quarter)
    if filters.state is not None:
        if filters.state not in STATES:
            raise ValueError(f"unknown verification state {filters.state!r}")
        query = query.where(Response.verification_status == filters.state)
    if filters.project_id:
        query = query.where(Response.project_id == filters.project_id)
    return query


def queue_page(filters: QueueFilters, *, page=1, per_page=50) -> QueuePage:
    """One page of the queue with the flags of its forms. With a flag filter the flags of every
    form of the quarter and state are computed first (one statement per flag), then the page."""
    from ..listing import paginate
    query = _query(filters)
    every = None
    if filters.flag:
        ids = db.session.scalars(query.with_only_columns(Response.id)).all()
        every = flags_for(ids)
        wanted = [i for i, found in every.items()
                  if filters.flag == "any" or any(f.code == filters.flag for f in found)]
        query = query.where(Response.id.in_(wanted))
    query = (query.options(lazyload(Response.answers),  # the queue shows no answers
                           joinedload(Response.project).joinedload(Project.client),
                           joinedload(Response.contact),
                           joinedload(Response.template_version),
                           joinedload(Response.entered_by).lazyload(User.role_rows),
                           joinedload(Response.verified_by).lazyload(User.role_rows))
             .order_by(Response.submitted_at, Response.id))
    result = paginate(query, page, per_page)
    items = list(result.items)
    if every is not None:  # computed for the filter already
        flags = {r.id: every[r.id] for r in items if r.id in every}
    else:
        flags = flags_for([r.id for r in items]) if items else {}
    return QueuePage(items, flags, result)


__all__ = ["FLAG_CODES", "QueueFilters", "QueuePage", "STATES", "queue_page"]
