"""Reading the imported tickets and imports for the pages, and keeping an uploaded file between
the mapping step and the import job."""
from datetime import datetime

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import CaseImport, Project, ServiceCase
from ..listing import paginate
from .mapping import FIELDS


def cases_page(*, quarter=None, priority=None, search=None, page=1, per_page=50):
    """One page of tickets, newest closed first; ``search`` matches the ticket id or project code."""
    query = (select(ServiceCase).join(Project, ServiceCase.project_id == Project.id)
             .options(joinedload(ServiceCase.project).joinedload(Project.client))
             .order_by(ServiceCase.closed_at.desc(), ServiceCase.id.desc()))
    conditions = [ServiceCase.quarter == quarter if quarter else None,
                  ServiceCase.priority == priority if priority else None,
                  or_(ServiceCase.external_id.contains(search, autoescape=True),
                      Project.code.contains(search, autoescape=True)) if search else None]
    return paginate(query, page, per_page, conditions)


#: the distinct quarters by one index probe each (a loose index scan), newest first: a plain
#: SELECT DISTINCT reads every ticket (12 ms for 100,000 on PostgreSQL, for a dozen values)
_QUARTERS = text("""
    WITH RECURSIVE q(quarter) AS (
        SELECT max(quarter) FROM service_cases
        UNION ALL
        SELECT (SELECT max(s.quarter) FROM service_cases s WHERE s.quarter < q.quarter) FROM q
        WHERE q.quarter IS NOT NULL)
    SELECT quarter FROM q WHERE quarter IS NOT NULL""")


def case_quarters():
    """The quarters that have tickets, newest first."""
    return list(db.session.scalars(_QUARTERS))


def recent_imports(limit=5):
    return db.session.scalars(select(CaseImport).options(joinedload(CaseImport.imported_by))
                              .order_by(CaseImport.id.desc()).limit(limit)).all()


def imports_page(*, page=1, per_page=50):
    return paginate(select(CaseImport).options(joinedload(CaseImport.imported_by))
                    .order_by(CaseImport.id.desc()), page, per_page)


def import_count() -> int:
    return db.session.scalar(select(func.count(CaseImport.id))) or 0


def _shown(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if value is None:
        return ""
    return str(value)


def preview(table, mapping, rows=10):
    """The first ``rows`` rows as the import reads them: one list of texts per row, in FIELDS order."""
    index = {h: i for i, h in enumerate(table.headers)}
    result = []
    for row in table.rows[:rows]:
        result.append([_shown(row[index[mapping[f]]]) if mapping.get(f) in index and index[mapping[f]] < len(row)
                       else "" for f in FIELDS])
    return result


def store_pending(data: bytes) -> str:
    """Keep an upload between the mapping step and its import job (the job deletes it)."""
    from .importer import store_import_file
    return store_import_file(data)


def read_pending(stored_name) -> bytes | None:
    """The kept upload, or None when it is gone."""
    from .importer import import_file_path
    path = import_file_path(stored_name)
    return path.read_bytes() if path is not None else None
