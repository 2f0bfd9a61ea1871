"""WeasyPrint time, pages and memory of the blank form and the largest quarterly report, each
against a plain HTML table of the same size laid out in the same run.

    .venv/bin/python bench/pdf.py [--repeat 3]

Documents, rendered through the portal's own path (``render_pdf``: a render process with the hard
``PDF_TIME_LIMIT``) on a fresh SQLite database:

- blank form:    ``render_blank_form`` of a PM questionnaire with 12 questions;
- rollup report: ``services.pdf.rollup_report.render_rollup_report`` of a large quarter built
                 from the ``figures`` dataclasses (300 projects, 60 PMs, 40 sales owners, 200
                 clients, 120 rounds, 40 problem rows, the trend, ...); skipped, with a note,
                 while that module does not exist.

Baseline of each: the document's HTML is captured on its way to the layout, its rows (``tr``,
``li``, ``p``, headings) and cells (``td``/``th``, tick boxes, answer lines) counted, and one plain ``<table>`` with as many
rows and cells, the same amount of text (the document's own, in order, split over the cells) and the
same font (print.css) is laid out by the same path.

Printed per document: median seconds, pages, peak memory of one layout in a fresh process
(ru_maxrss), and the document/table ratio (targets: <= 1.2x and <= 10 s). Compare ratios, not
absolute numbers: they depend on the machine and its load.
"""
import argparse
import html as html_lib
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ARGON2_PROFILE", "fast")

TARGET_RATIO, TARGET_SECONDS = 1.2, 10.0
ROW = re.compile(r"<(tr|li|p|h[1-6])[\s>]", re.I)
#: table cells, and the blank form's tick boxes and answer lines (its cells)
CELL = re.compile(r"<t[dh][\s>]|class=\"(?:opt|line)[\s\"]", re.I)
TAG = re.compile(r"<style.*?</style>|<[^>]+>", re.S | re.I)


def measure(html, static_folder):
    """In a fresh process: pages and peak RSS (MB) of one layout of ``html``."""
    import resource

    from weasyprint import HTML

    from portal.services.pdf.render import FONT_CONFIG, PDF_ORIGIN, SafeFetcher
    fetcher = SafeFetcher(static_folder, log_refusals=False)
    document = HTML(string=html, base_url=PDF_ORIGIN + fetcher.static_prefix,
                    url_fetcher=fetcher).render(font_config=FONT_CONFIG)
    document.write_pdf()
    return len(document.pages), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def plain_table(html):
    """A bare table as large as ``html``: as many rows and cells, as much text, the same font."""
    rows = max(1, len(ROW.findall(html)))
    cells = max(rows, len(CELL.findall(html)))
    words = html_lib.unescape(" ".join(TAG.sub(" ", html).split()))
    columns = max(1, round(cells / rows))
    per_cell = max(1, len(words) // (rows * columns))
    # the document's own text, in order, ``per_cell`` characters a cell: the table uses the same
    # glyphs (a CJK glyph costs the font subsetting far more than a Latin one), not the first few
    # characters again and again (the blank form's table held "pm_quar" 90 times, no Chinese)
    words = words or "x"
    texts = [(words * 2)[i * per_cell % len(words):][:per_cell] for i in range(rows * columns)]
    css = (Path(__file__).resolve().parent.parent / "portal/templates/pdf/print.css").read_text()
    body = "\n".join("<tr>" + "".join(f"<td>{html_lib.escape(t)}</td>" for t in texts[r * columns:(r + 1) * columns])
                     + "</tr>" for r in range(rows))
    doc = (f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><style>{css}\n"
           "table.plain { width: 100%; border-collapse: collapse; }"
           "table.plain td { border: 0.4pt solid #bcccdc; padding: 0.9mm 2mm; }</style></head>"
           f"<body><table class='plain'>{body}</table></body></html>")
    return doc, rows, rows * columns


def large_rollup():
    """A Rollup as large as a busy quarter makes it, built from the dataclasses directly."""
    from portal.services.rollup.figures import (CallbackRate, ComplaintFigures, Coverage, Excluded,
                                                FollowupFigures, Group, PeriodInfo, PlanCitation, PlanRef,
                                                ProblemCount, ProjectRef, RoundRate, Rollup, Suggestion,
                                                TrendPoint)
    from portal.services.rollup.stats import change_between, score_of

    def group(i, key, label, detail="", n=None):
        n = n or 20 + (i * 37) % 400
        mean = 3.2 + (i * 13 % 17) / 10
        four = (n, mean * n, mean * mean * n * 1.05, int(n * min(0.98, mean / 5.2)))
        prev = (n - 3, (mean - 0.1) * (n - 3), (mean - 0.1) ** 2 * (n - 3) * 1.05, int((n - 3) * 0.7))
        return Group(str(key), label, score_of(*four), detail, change_between(four, prev))

    def groups(count, label, detail=lambda i: ""):
        return tuple(group(i, i, label(i), detail(i)) for i in range(1, count + 1))

    dims = ("attitude", "timeliness", "technical", "communication", "resolution", "documentation", "overall")
    overall = score_of(125000, 125000 * 4.1, 125000 * 17.6, 98000)
    ref = [ProjectRef(p, f"PRJ-{p:04d}", f"项目{p:04d} 数据中心运维服务", f"经理{p % 60:03d}", f"销售{p % 40:03d}")
           for p in range(1, 301)]
    return Rollup(
        period=PeriodInfo("quarter", "2026Q4", "2026-10-01", "2026-12-31", ("2026Q4",)),
        computed_at="2026-12-31T12:00:00", include_pending=False, method="s_r = 各题归一化得分的平均值（1–5）",
        overall=overall, change=change_between((125000, 512500.0, 2200000.0, 98000), (118000, 480000.0, 2000000.0, 90000)),
        excluded=Excluded(2500, 2400, 31000, 120),
        by_question=tuple(group(i, f"{k}:q{i}", f"问题{i}：项目团队对故障的响应是否及时、专业", dims[i % 7])
                          for k in ("pm_quarterly", "sales_visit") for i in range(1, 9)),
        by_dimension=tuple(group(i, d, d) for i, d in enumerate(dims, 1)),
        by_project=groups(300, lambda i: f"项目{i:04d} 数据中心运维服务", lambda i: f"PRJ-{i:04d}"),
        by_pm=groups(60, lambda i: f"经理{i:03d}"), by_sales=groups(40, lambda i: f"销售{i:03d}"),
        by_client=groups(200, lambda i: f"客户{i:03d} 信息技术有限公司"),
        by_key_account=groups(20, lambda i: f"客户{i * 10:03d} 信息技术有限公司"),
        key_accounts=score_of(12000, 49000.0, 205000.0, 9500),
        by_channel=tuple(group(i, c, c) for i, c in enumerate(("online", "paper", "phone", "visit", "email",
                                                               "on_behalf"), 1)),
        by_kind=tuple(group(i, k, k) for i, k in enumerate(("pm_quarterly", "sales_visit", "callback",
                                                            "complaint_followup"), 1)),
        by_engineer=groups(30, lambda i: f"工程师{i:02d}"), by_department=groups(6, lambda i: f"交付{i}部"),
        rounds=tuple(RoundRate(r, f"PRJ-{r:04d}", f"项目{r:04d} 数据中心运维服务", f"经理{r % 60:03d}", 40, 25 + r % 15,
                               (25 + r % 15) / 40) for r in range(1, 121)),
        invited=4800, responded=3700,
        coverage=Coverage(300, tuple(ref[:30]), tuple(ref[30:50])),
        callbacks=tuple(CallbackRate(p, 900, 270 + i * 10, 260 + i * 12, 0.3, 0.3, True)
                        for i, p in enumerate(("P1", "P2", "P3", "P4"))),
        complaints=ComplaintFigures(85, 70, 12, 80, 5, 0.94, 72, 13, 0.85),
        problems=tuple(ProblemCount(f"方向{i % 6}", f"类型{i}", 40 - i,
                                    tuple(f"夜间故障响应偏慢，现场工程师到场时间超过约定，希望改进值守安排（{i}-{k}）。"
                                          for k in range(3))) for i in range(40)),
        followups=FollowupFigures(120, 95, 8, 4, 30),
        plans=tuple(PlanRef(i, f"改进计划{i}：缩短夜间响应时间", "in_progress", f"交付{1 + i % 6}部", "2027-03-31")
                    for i in range(1, 21)),
        suggestions=tuple(Suggestion(f"PRJ-{i:04d}", "希望项目团队在变更前提前一周通知，并提供详细的回退方案。" * 3)
                          for i in range(1, 21)),
        trend=tuple(TrendPoint(q, "portal", 110000 + i * 4000, 3.9 + i * 0.05, 3.88 + i * 0.05, 3.92 + i * 0.05,
                               0.75 + i * 0.01, 0.74 + i * 0.01, 0.76 + i * 0.01)
                    for i, q in enumerate(("2025Q4", "2026Q1", "2026Q2", "2026Q3", "2026Q4"))),
        plan=PlanCitation(1, 2026, 2))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from portal import create_app
    from portal.config import TestConfig
    from portal.extensions import db
    from portal.services.pdf import render
    from portal.services.pdf.blank_form import render_blank_form
    from tests import factories

    folder = tempfile.mkdtemp(prefix="pdf-bench-")
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder}/bench.sqlite3",
                     UPLOAD_FOLDER=f"{folder}/uploads", PDF_TIME_LIMIT=300)
    captured = []
    original = render.layout_with_time_limit

    def capturing(html, *rest, **kw):
        captured.append(html)
        return original(html, *rest, **kw)

    render.layout_with_time_limit = capturing
    spawn = multiprocessing.get_context("spawn")
    results = {}
    with app.app_context():
        db.create_all()
        questions = [dict(code=f"q{i}", text=f"第{i}题：项目团队的服务态度、响应及时性和技术能力", type="scale",
                          scale=("sat5_a", "points10")[i % 2], dimension="attitude", allow_na=i % 3 == 0)
                     for i in range(1, 11)]
        questions += [dict(code="opinion", text="意见和建议", type="text", required=False),
                      dict(code="praise", text="值得表扬的人和事", type="text", required=False)]
        version = factories.template_version(questions=questions)
        documents = {"blank form": lambda: render_blank_form(version)}
        try:
            from portal.services.pdf.rollup_report import render_rollup_report
        except ImportError as exc:
            print(f"rollup report: skipped ({exc})")
        else:
            report = large_rollup()
            documents["rollup report"] = lambda: render_rollup_report(report)
        with app.test_request_context("/"):
            documents["blank form"]()  # warm up the render processes and their fonts
            for name, make in documents.items():
                captured.clear()
                try:
                    make()
                except Exception as exc:  # a document still being written: report it, bench the rest
                    print(f"{name}: failed ({type(exc).__name__}: {exc})")
                    continue
                html = captured[-1]
                table, rows, cells = plain_table(html)
                timings = {}
                def run_table():
                    return original(table, app.static_folder, "/static", app.config["PDF_TIME_LIMIT"],
                                    app.config["PDF_PROCESSES"])
                for label, run in ((name, make), ("table", run_table)):
                    runs = []
                    for _ in range(args.repeat):
                        started = time.perf_counter()
                        run()
                        runs.append(time.perf_counter() - started)
                    timings[label] = statistics.median(runs)
                with spawn.Pool(1) as pool:
                    doc_pages, doc_mb = pool.apply(measure, (html, app.static_folder))
                with spawn.Pool(1) as pool:
                    table_pages, table_mb = pool.apply(measure, (table, app.static_folder))
                results[name] = (timings[name], doc_pages, doc_mb, timings["table"], table_pages, table_mb,
                                 rows, cells)
    render.layout_with_time_limit = original

    print(f"median of {args.repeat}; memory: peak RSS of one layout in a fresh process")
    for name, (s, pages, mb, ts, tpages, tmb, rows, cells) in results.items():
        ratio = s / ts
        print(f"{name:14s} {s:6.2f} s {pages:4d} pages {mb:6.0f} MB | table {rows} rows/{cells} cells: "
              f"{ts:6.2f} s {tpages:4d} pages {tmb:6.0f} MB | ratio x{ratio:.2f} "
              f"(target <= {TARGET_RATIO}, <= {TARGET_SECONDS:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
