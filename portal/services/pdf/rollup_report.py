"""The satisfaction report of a period as PDF (DESIGN §4.5.4, §7) for the PMO director and the
VP: a cover (title, period, revision or "preview"), a one-page summary, the per-dimension and
per-project tables with their charts, the other breakdowns, the trend, the problem list, the
follow-up status, and the method with what was left out. No response is listed one by one
(the XLSX holds those). Always in Chinese, whatever the reader's language.

It renders a ``Rollup`` as given — fresh or thawed from a published revision — and never
recomputes a figure; the charts are the on-screen report's (templates/rollup/_charts.html)."""
import re
import zlib
from dataclasses import dataclass

from flask_babel import force_locale, gettext as _

from ..quarters import local_today
from ..settings import setting_choices
from .questionnaire import Document, PdfFile, when
from .render import render_pdf

REPORT_LOCALE = "zh"


@dataclass(frozen=True)
class Cover:
    title: str
    period: str                 # "2026Q4 · 2026-10-01 – 2026-12-31"
    status: str                 # "Revision 2" or "Preview — not published"
    published: bool
    published_line: str         # "published on … by …", or what the preview counts
    reason: str                 # a re-publication's reason
    printed_on: str


def _title(kind) -> str:
    return {"quarter": _("Customer satisfaction quarterly report"),
            "month": _("Monthly customer feedback report"),
            "half": _("Half-yearly customer satisfaction report"),
            "year": _("Annual customer satisfaction report")}.get(kind, _("Customer satisfaction report"))


def report_cover(report, revision=None) -> Cover:
    """The cover's lines in the current locale; ``revision``: the RollupRevision it was published as."""
    period = report.period
    span = f"{period.key} · {period.first_day} – {period.last_day}"
    if revision is not None:
        who = revision.published_by.display_name if revision.published_by else "–"
        return Cover(_title(period.kind), span, _("Revision %(n)d", n=revision.number), True,
                     _("Published on %(when)s by %(who)s.", when=when(revision.published_at), who=who),
                     revision.reason or "", local_today().isoformat())
    counted = (_("Counts the forms not verified yet as if they were verified.") if report.include_pending
               else _("Counts the verified forms only."))
    return Cover(_title(period.kind), span, _("Preview — not published"), False,
                 _("Computed at %(when)s (UTC).", when=report.computed_at) + " " + counted, "",
                 local_today().isoformat())


def report_filename(report, revision=None) -> str:
    key = re.sub(r"[^0-9A-Za-z.-]+", "-", report.period.key)
    suffix = f"r{revision.number}" if revision is not None else "preview"
    return f"satisfaction-report-{key}-{suffix}.pdf"


def render_rollup_report(report, *, revision=None) -> PdfFile:
    """``report`` (a Rollup) as the PDF report, in Chinese."""
    with force_locale(REPORT_LOCALE):
        cover = report_cover(report, revision)
        doc = Document(title=cover.title, subtitle=cover.period, language=REPORT_LOCALE,
                       reference=f"{report.period.key} · {cover.status}")
        data = render_pdf("pdf/rollup_report.html", report=report, cover=cover, doc=doc,
                          directions=dict(setting_choices("problems.directions", REPORT_LOCALE)),
                          problem_types=dict(setting_choices("problems.types", REPORT_LOCALE)))
    return PdfFile(report_filename(report, revision), data)


_OBJECT_STREAM = re.compile(rb"<<[^>]*/Type\s*/ObjStm[^>]*>>\s*stream\r?\n", re.S)
_PAGE_TREE = re.compile(rb"/Type\s*/Pages\b.*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", re.S)


def pdf_page_count(data: bytes):
    """Pages of a PDF WeasyPrint wrote: its page tree's /Count, read from the file or from its
    compressed object streams; None when it cannot be read."""
    chunks = [data]
    for match in _OBJECT_STREAM.finditer(data):
        try:
            chunks.append(zlib.decompressobj().decompress(data[match.end():match.end() + 4_000_000]))
        except zlib.error:
            continue
    counts = [int(a or b) for chunk in chunks for a, b in _PAGE_TREE.findall(chunk)]
    return max(counts) if counts else None
