"""Search + filter + paginate for list screens, shared by the master-data lists."""
from sqlalchemy import or_

from ..extensions import db

MAX_PER_PAGE = 100


def contains_any(text, *columns):
    """Case-insensitive "contains ``text``" on any of ``columns``; None when there is nothing to search."""
    text = (text or "").strip()
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(*(c.ilike(f"%{escaped}%", escape="\\") for c in columns))


def paginate(stmt, page, per_page, conditions=()):
    """One page of ``stmt`` filtered by every condition that is not None; pages past the end are empty."""
    for condition in conditions:
        if condition is not None:
            stmt = stmt.where(condition)
    return db.paginate(stmt, page=max(page or 1, 1), per_page=per_page,
                       max_per_page=MAX_PER_PAGE, error_out=False, count=True)
