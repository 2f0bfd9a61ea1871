"""The per-PM and per-sales score sheets for quarter-end performance reviews (DESIGN §4.5.4):
people in their standing by satisfaction rate (满意率, the figure the policy reviews, shown
first), then the score, each with its 95 % interval, the number of responses and the confidence.

Standing is fair to small numbers (issue 13 §3): people whose rate intervals overlap share a
place (shown "=2"); someone with too few responses to judge is listed but not placed. A sheet
is built from a ``Rollup`` (fresh or a published revision's) and never recomputes a figure."""
from dataclasses import dataclass
from typing import Optional

from flask_babel import force_locale, gettext as _

from ...labels import CONFIDENCE_LABELS
from ..pdf.questionnaire import Document, PdfFile
from ..pdf.render import render_pdf
from ..scoring import fmt_rate, fmt_score
from ..settings import all_settings
from ..xlsx import Percent, write_xlsx
from .stats import standings

SHEET_LOCALE = "zh"
WHO = {"pm": "by_pm", "sales": "by_sales"}


@dataclass(frozen=True)
class SheetRow:
    place: Optional[int]            # None: not placed (too few responses to judge)
    place_label: str                # "1", "=2" when shared, "–" when not placed
    name: str
    satisfaction_rate: Optional[float]
    rate_low: Optional[float]
    rate_high: Optional[float]
    score: Optional[float]
    score_low: Optional[float]
    score_high: Optional[float]
    responses: int
    confidence: str                 # ok | low | too_few

    @property
    def rate_text(self) -> str:
        return fmt_rate(self.satisfaction_rate)

    @property
    def rate_interval(self) -> str:
        return _interval(self.rate_low, self.rate_high, fmt_rate)

    @property
    def score_text(self) -> str:
        return fmt_score(self.score)

    @property
    def score_interval(self) -> str:
        return _interval(self.score_low, self.score_high, fmt_score)


@dataclass(frozen=True)
class ScoreSheet:
    who: str                        # pm | sales
    period: str                     # the rollup's period key
    first_day: str
    last_day: str
    computed_at: str
    include_pending: bool
    rows: tuple                     # SheetRow, in standing order; the unplaced last
    low_n: int                      # below: low confidence
    too_few_n: int                  # below: too few to judge, not placed


def _interval(low, high, fmt) -> str:
    return "" if low is None or high is None else f"[{fmt(low)}–{fmt(high)}]"


def _row(place, label, group) -> SheetRow:
    f = group.figures
    return SheetRow(place, label, group.label, f.satisfaction_rate, f.rate_low, f.rate_high, f.score, f.score_low,
                    f.score_high, f.responses, f.confidence)


def score_sheet(report, who) -> ScoreSheet:
    """The sheet of ``who`` ("pm" or "sales") from ``report``: placed by satisfaction rate, ties
    shared, too-few rows listed unplaced. Projects without a sales owner are nobody's, so left out."""
    if who not in WHO:
        raise ValueError(f"no score sheet for {who!r}")
    groups = [g for g in getattr(report, WHO[who]) if g.key]
    judged = [g for g in groups if g.figures.confidence != "too_few"]
    ranked = standings(judged, by="rate")
    shared = {}
    for place, _g in ranked:
        shared[place] = shared.get(place, 0) + 1
    rows = [_row(place, "–" if place is None else (f"={place}" if shared[place] > 1 else str(place)), g)
            for place, g in ranked]
    too_few = sorted((g for g in groups if g.figures.confidence == "too_few"),
                     key=lambda g: (-g.figures.responses, g.label))
    rows += [_row(None, "–", g) for g in too_few]
    settings = all_settings()
    return ScoreSheet(who, report.period.key, report.period.first_day, report.period.last_day, report.computed_at,
                      report.include_pending, tuple(rows), settings["rollup.low_confidence_n"],
                      settings["rollup.too_few_n"])


def sheet_title(sheet) -> str:
    return _("Satisfaction score sheet: project managers") if sheet.who == "pm" else \
        _("Satisfaction score sheet: sales owners")


def sheet_note(sheet) -> str:
    """How to read the standing (in the current locale)."""
    return _("People are placed by satisfaction rate (the share of their responses scoring 4 or more). "
             "Whoever's 95%% interval lies wholly above another's stands above them; people whose intervals "
             "overlap cannot be told apart and share a place (shown as “=2”). Fewer than %(low)d responses: "
             "low confidence; fewer than %(few)d: too few to judge, listed but not placed.",
             low=sheet.low_n, few=sheet.too_few_n)


def score_sheet_pdf(sheet: ScoreSheet) -> PdfFile:
    """The sheet as PDF, in Chinese."""
    with force_locale(SHEET_LOCALE):
        title = sheet_title(sheet)
        doc = Document(title=title, subtitle=f"{sheet.period} · {sheet.first_day} – {sheet.last_day}",
                       language=SHEET_LOCALE, reference=sheet.period)
        data = render_pdf("pdf/score_sheet.html", sheet=sheet, doc=doc, note=sheet_note(sheet))
    return PdfFile(f"score-sheet-{sheet.who}-{sheet.period}.pdf", data)


def score_sheet_xlsx(sheet: ScoreSheet) -> bytes:
    """The sheet as XLSX (in the current locale): the rate first, numbers as numbers; the place a
    number beside whether it is shared (a cell "=2" would read as a formula)."""
    def pct(v):
        return None if v is None else Percent(v)
    headers = [_("Place"), _("Place shared"), _("Name"), _("Satisfaction rate"), _("Rate: interval low (95%)"), _("Rate: interval high (95%)"),
               _("Score (1–5)"), _("Score: interval low (95%)"), _("Score: interval high (95%)"), _("Responses"), _("Confidence")]
    rows = [[r.place, (_("Yes") if r.place_label.startswith("=") else _("No")) if r.place else _("Not placed"),
             r.name, pct(r.satisfaction_rate), pct(r.rate_low), pct(r.rate_high), r.score,
             r.score_low, r.score_high, r.responses,
             str(CONFIDENCE_LABELS.get(r.confidence, r.confidence))] for r in sheet.rows]
    about = [[_("Period"), sheet.period], [_("First day"), sheet.first_day], [_("Last day"), sheet.last_day],
             [_("Computed at (UTC)"), sheet.computed_at],
             [_("Counts the forms not verified yet"), _("Yes") if sheet.include_pending else _("No")],
             [_("How to read it"), sheet_note(sheet)]]
    return write_xlsx([(sheet_title(sheet), headers, rows), (_("How to read it"), [_("Figure"), _("Value")], about)])
