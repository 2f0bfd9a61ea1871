"""The historical results file (issue 13 §7): its columns, their Chinese and English headers, the
dimension names it accepts, and the downloadable template (docs/history-import.md explains it).

One row is a past quarter's result for one project and one dimension, or for the whole form
(``overall``), as the previous system reported it.
"""
import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ...models import DIMENSIONS
from ...models.rollup import OVERALL
from ..cases.mapping import normalize_header
from ..quarters import current_quarter, shift_quarter
from ..xlsx import Percent, write_xlsx


@dataclass(frozen=True)
class Column:
    key: str
    header_zh: str          # the template's header
    header_en: str          # the English header, accepted as well
    aliases: tuple          # further headers accepted (compared as normalize_header does)
    required: bool
    label: object           # the column's name in messages
    meaning: object         # what it holds and which values are accepted


COLUMNS = (
    Column("quarter", "季度", "quarter", ("季度编号", "期间", "年度季度", "period"), True, _l("Quarter"),
           _l("A calendar quarter before the current one: 2026Q1 (also 2026-Q1, 2026 Q1, 2026年第1季度, "
              "2026年一季度).")),
    Column("project_code", "项目编号", "project code", ("项目代码", "项目编码", "project_code", "project"),
           True, _l("Project code"), _l("The code of a project of the portal (as on its page).")),
    Column("dimension", "维度", "dimension", ("评价维度", "指标", "dimension code"), True, _l("Dimension"),
           _l("A dimension code (attitude, timeliness, technical, communication, resolution, documentation) "
              "or its Chinese or English name; overall or 总体 for the whole form.")),
    Column("responses", "样本数", "responses", ("样本量", "问卷数", "回收数", "答卷数", "responses count",
                                             "sample size", "n"), True, _l("Responses"),
           _l("How many responses the result was computed from: a whole number, at least 1.")),
    Column("score", "得分", "score", ("满意度得分", "平均分", "分数", "satisfaction score", "mean score"), True,
           _l("Score"), _l("The mean score on the 5-point scale, from 1 to 5 (e.g. 4.35).")),
    Column("satisfaction_rate", "满意率", "satisfaction rate", ("满意度", "满意比例", "rate", "csat"), False,
           _l("Satisfaction rate"),
           _l("Optional: the share of satisfied responses (top two boxes) as 85, 0.85 or 85%; a number up to 1 "
              "is a share, above 1 a percentage (write one percent as “1%”).")),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
REQUIRED = tuple(c.key for c in COLUMNS if c.required)
COLUMN_LABELS = {c.key: c.label for c in COLUMNS}

#: the names a file may give each dimension besides its code (compared case- and space-insensitively)
DIMENSION_NAMES = {
    "attitude": ("服务态度", "态度", "Service attitude"),
    "timeliness": ("响应及时性", "及时性", "响应速度", "Response timeliness", "timeliness of response"),
    "technical": ("技术能力", "技术水平", "Technical capability", "technical ability"),
    "communication": ("沟通协调", "沟通", "Communication"),
    "resolution": ("问题解决", "问题解决能力", "Problem resolution", "problem solving"),
    "documentation": ("文档资料", "文档", "Documentation"),
    OVERALL: ("总体", "总体评价", "总体满意度", "整体", "综合", "全部", "Overall", "whole form", "total"),
}
_QUARTER_FORMS = (
    re.compile(r"(\d{4})年?[-/.]?Q([1-4])"),               # 2026Q1, 2026-Q1, 2026年Q1
    re.compile(r"Q([1-4])[-/.]?(\d{4})"),                  # Q1-2026 (year second)
    re.compile(r"(\d{4})年第?([1-4一二三四])季度?"),          # 2026年第1季度, 2026年一季度
)
_CHINESE_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4"}


def _key(text) -> str:
    return normalize_header(unicodedata.normalize("NFKC", str(text or "")))


_HEADER_INDEX = {}
for _column in COLUMNS:
    for _name in (_column.key, _column.header_zh, _column.header_en, *_column.aliases):
        _HEADER_INDEX.setdefault(_key(_name), _column.key)
_DIMENSION_INDEX = {}
for _code in DIMENSIONS:
    _DIMENSION_INDEX[_key(_code)] = _code
for _code, _names in DIMENSION_NAMES.items():
    for _name in _names:
        _DIMENSION_INDEX.setdefault(_key(_name), _code)


def column_of(header) -> str | None:
    """The column key a file's header names (either language, any case or spacing), or None."""
    return _HEADER_INDEX.get(_key(header))


def find_columns(headers) -> dict:
    """{column key: index of the first header naming it} for the columns the file has."""
    found = {}
    for index, header in enumerate(headers):
        key = column_of(header)
        if key is not None and key not in found:
            found[key] = index
    return found


def dimension_of(text) -> str | None:
    """The dimension code (or OVERALL) a cell names, or None."""
    return _DIMENSION_INDEX.get(_key(text))


def quarter_from_text(text) -> str | None:
    """'2026Q1' for the forms the format accepts, None for anything else (the year is not checked)."""
    compact = "".join(unicodedata.normalize("NFKC", str(text or "")).split()).upper()
    for number, form in enumerate(_QUARTER_FORMS):
        match = form.fullmatch(compact)
        if match:
            year, q = match.groups() if number != 1 else reversed(match.groups())
            return f"{year}Q{_CHINESE_DIGITS.get(q, q)}"
    return None


# --- the template -----------------------------------------------------------------------------

EXAMPLE_PROJECT_CODE = "PRJ-2025-001"


def template_rows(today_quarter=None):
    """The template's two example rows: last quarter, one project, the whole form and a dimension."""
    quarter = shift_quarter(today_quarter or current_quarter(), -1)
    return [
        (quarter, EXAMPLE_PROJECT_CODE, "总体", 12, 4.35, Percent(0.917)),
        (quarter, EXAMPLE_PROJECT_CODE, "服务态度", 12, 4.5, 91.7),
    ]


def template_xlsx(today_quarter=None) -> bytes:
    """The downloadable template: the header row and two example rows on the first sheet, what each
    column holds on the second (in the reader's language)."""
    yes, no = str(_l("yes")), str(_l("no"))
    documentation = [(c.header_zh, c.header_en, yes if c.required else no, str(c.label), str(c.meaning))
                     for c in COLUMNS]
    documentation.append(("", "", "", "", str(_l(
        "One row per quarter, project and dimension. A file with any wrong row imports nothing; a row for a "
        "quarter, project and dimension already imported replaces the older value; importing the same file "
        "again changes nothing."))))
    return write_xlsx([
        (str(_l("Historical results")), [c.header_zh for c in COLUMNS], template_rows(today_quarter)),
        (str(_l("Columns")), [str(_l("Header")), str(_l("English header")), str(_l("Required")),
                              str(_l("Column")), str(_l("What it holds"))], documentation),
    ])
