"""Which column of a ticket export holds which field of a service case: guessed from the headers
(canonical names, the usual Chinese ones, common English ones), checked, and saved by name."""
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...extensions import db
from ...models import ImportMapping
from .. import DomainError
from ..audit import record_event

FIELDS = ("case_id", "project_code", "priority", "reporter", "reporter_phone", "opened_at",
          "closed_at", "summary", "engineer")
REQUIRED = ("case_id", "project_code", "priority", "reporter", "closed_at")
FIELD_LABELS = {
    "case_id": _l("Ticket no."),
    "project_code": _l("Project code"),
    "priority": _l("Priority"),
    "reporter": _l("Reporter"),
    "reporter_phone": _l("Reporter's phone"),
    "opened_at": _l("Opened at"),
    "closed_at": _l("Closed at"),
    "summary": _l("Summary"),
    "engineer": _l("Engineer"),
}
#: headers recognised for each field, best first (compared ignoring case, spaces, _ and -)
ALIASES = {
    "case_id": ("case_id", "工单号", "工单编号", "工单ID", "工单id", "事件单号", "事件编号", "服务单号",
                "单号", "ticket id", "ticket no", "ticket number", "ticket", "case id", "case no",
                "case number", "case", "incident id", "incident number", "incident", "request id",
                "id"),
    "project_code": ("project_code", "项目编号", "项目代码", "项目编码", "项目号", "project code",
                     "project no", "project number", "project id", "project"),
    "priority": ("priority", "优先级", "紧急程度", "级别", "严重程度", "等级", "severity", "urgency",
                 "level"),
    "reporter": ("reporter", "申告人", "报障人", "报告人", "联系人", "报修人", "申请人", "reported by",
                 "requester", "requestor", "caller", "contact", "contact name"),
    "reporter_phone": ("reporter_phone", "联系电话", "电话", "手机", "手机号", "联系方式", "reporter phone",
                       "contact phone", "phone", "telephone", "mobile", "phone number"),
    "opened_at": ("opened_at", "创建时间", "报障时间", "开单时间", "申告时间", "提交时间", "opened",
                  "opened at", "created", "created at", "created time", "create time", "open time",
                  "reported at", "submitted"),
    "closed_at": ("closed_at", "关闭时间", "结单时间", "完成时间", "解决时间", "closed", "closed at",
                  "closed time", "close time", "resolved", "resolved at", "resolved time", "completed",
                  "completed at"),
    "summary": ("summary", "摘要", "问题描述", "标题", "故障描述", "描述", "subject", "title",
                "description", "short description"),
    "engineer": ("engineer", "处理工程师", "工程师", "处理人", "负责人", "assignee", "assigned to",
                 "handled by", "technician", "resolver"),
}
_SEPARATORS = re.compile(r"[\s_\-.:：]+")
NAME_MAX = 80


def normalize_header(header) -> str:
    """The header as compared with the aliases: lower-case, without spaces, _, -, ., :."""
    return _SEPARATORS.sub("", str(header or "")).casefold()


_ALIAS_INDEX = {field: tuple(dict.fromkeys(normalize_header(a) for a in aliases))
                for field, aliases in ALIASES.items()}


def guess_mapping(headers) -> dict:
    """{field: the header that holds it, or None}: each header used once, best alias first."""
    by_name = {}
    for header in headers:
        if header:
            by_name.setdefault(normalize_header(header), header)
    used, mapping = set(), {}
    for field in FIELDS:
        mapping[field] = None
        for alias in _ALIAS_INDEX[field]:
            header = by_name.get(alias)
            if header is not None and header not in used:
                mapping[field] = header
                used.add(header)
                break
    return mapping


def mapping_problems(mapping, headers) -> dict:
    """{field: message} for every field whose mapping cannot be used (empty when all is well)."""
    problems, owner = {}, {}
    present = {}
    for header in headers:
        present[header] = present.get(header, 0) + 1
    for field in mapping or {}:
        if field not in FIELDS:
            problems[field] = _l("Unknown field.")
    for field in FIELDS:
        header = (mapping or {}).get(field) or None
        if header is None:
            if field in REQUIRED:
                problems[field] = _l("Choose the column that holds %(field)s.", field=FIELD_LABELS[field])
            continue
        if header not in present:
            problems[field] = _l("The file has no column %(column)s.", column=header)
        elif present[header] > 1:
            problems[field] = _l("The file has more than one column %(column)s.", column=header)
        elif header in owner:
            problems[field] = _l("Column %(column)s is already used for %(field)s.", column=header,
                                 field=FIELD_LABELS[owner[header]])
        else:
            owner[header] = field
    return problems


def check_mapping(mapping, headers) -> dict:
    """The mapping as {field: header or None} for every field; DomainError (at the field) for a
    required field left out, a column the file lacks, or a column used twice."""
    problems = mapping_problems(mapping, headers)
    if problems:
        field, message = next(iter(problems.items()))
        raise DomainError(message, field=field)
    return {field: (mapping or {}).get(field) or None for field in FIELDS}


def _clean_columns(columns) -> dict:
    if not isinstance(columns, dict):
        raise DomainError(_l("Choose the column that holds %(field)s.", field=FIELD_LABELS["case_id"]),
                          field="case_id")
    cleaned = {}
    for field, header in columns.items():
        if field not in FIELDS:
            raise DomainError(_l("Unknown field."), field=field)
        header = " ".join(str(header).split()) if header else ""
        if header:
            cleaned[field] = header[:255]
    for field in REQUIRED:
        if field not in cleaned:
            raise DomainError(_l("Choose the column that holds %(field)s.", field=FIELD_LABELS[field]),
                              field=field)
    if len(set(cleaned.values())) < len(cleaned):
        raise DomainError(_l("A column can be used for one field only."), field="columns")
    return cleaned


def save_mapping(name, columns, user) -> ImportMapping:
    """Save ``columns`` ({field: header}) as the mapping ``name``, replacing one of that name."""
    name = " ".join(str(name or "").split())
    if not name or len(name) > NAME_MAX:
        raise DomainError(_l("Give the mapping a name of 1 to %(num)d characters.", num=NAME_MAX),
                          field="name")
    columns = _clean_columns(columns)
    saved = mapping_by_name(name)
    before = dict(saved.columns) if saved is not None else None
    if saved is None:
        saved = ImportMapping(name=name, columns=columns, created_by_id=user.id if user else None)
        db.session.add(saved)
    elif before == columns:
        return saved
    else:
        saved.columns = columns
    db.session.flush()
    record_event("import_mapping_saved", saved, actor=user,
                 detail={"name": name, "before": before, "after": columns})
    return saved


def saved_mappings() -> list[ImportMapping]:
    return list(db.session.scalars(select(ImportMapping).order_by(ImportMapping.name)))


def mapping_by_name(name) -> ImportMapping | None:
    return db.session.scalar(select(ImportMapping).where(ImportMapping.name == name))
