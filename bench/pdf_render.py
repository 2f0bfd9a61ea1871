"""PDF layout time of a filled response with the longest allowed answers, against an ordinary one.

    .venv/bin/python bench/pdf_render.py [--repeat 3]

Both documents are rendered in the same run, through the portal's own render path (render
processes with the hard time limit), on a fresh SQLite database:

- ordinary: the default PM questionnaire with short answers (the baseline);
- longest:  the same form with four free-text answers of the maximum length (4,000
            characters each: unbroken Chinese runs, one unbroken Latin run, many lines).

Before the fix (written answers laid out as flex items) one 4,000-character answer took
about 80 s against 0.5-2 s for an ordinary response; see the issue note for the figures.

Printed: the median seconds of each and the longest/ordinary ratio. Compare ratios, not
absolute numbers: they depend on the machine and its load.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ARGON2_PROFILE", "fast")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from portal import create_app
    from portal.config import TestConfig
    from portal.extensions import db
    from portal.services.answers import TEXT_LIMIT, parse_answers
    from portal.services.pdf.filled_response import render_filled_response
    from portal.services.responses import submit_response
    from tests import factories

    folder = tempfile.mkdtemp(prefix="pdf-bench-")
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder}/bench.sqlite3",
                     UPLOAD_FOLDER=f"{folder}/uploads", PDF_TIME_LIMIT=120)
    texts = {"opinion": ("夜间故障响应偏慢希望改进值守安排" * 300)[:TEXT_LIMIT],
             "praise": ("工程师" + "很" * 5000)[:TEXT_LIMIT], "latin": "x" * TEXT_LIMIT,
             "lines": ("第一行意见\n" * 1000)[:TEXT_LIMIT]}
    with app.app_context():
        db.create_all()
        base = [dict(code="attitude", text="服务态度", type="scale", scale="sat5_a", dimension="attitude"),
                dict(code="timeliness", text="响应及时性", type="scale", scale="sat5_a", dimension="timeliness"),
                dict(code="technical", text="技术能力", type="scale", scale="points10", dimension="technical")]
        project = factories.project()

        def response(extra_questions, answers):
            version = factories.template_version(questions=base + extra_questions)
            parsed = parse_answers(version, {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8",
                                             **answers}, complete=True)
            assert parsed.ok, parsed.errors
            r = submit_response(version, parsed, channel="paper", project=project)
            db.session.commit()
            return r

        ordinary = response([dict(code="opinion", text="意见和建议", type="text", required=False)],
                            {"q_opinion": "夜间响应偏慢，希望改进。"})
        longest = response([dict(code=c, text=f"意见（{c}）", type="text", required=False) for c in texts],
                           {f"q_{c}": t for c, t in texts.items()})
        with app.test_request_context("/"):
            render_filled_response(ordinary)  # warm up the render process and its fonts
            timings = {}
            for name, r in (("ordinary", ordinary), ("longest", longest)):
                runs = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    render_filled_response(r)
                    runs.append(time.perf_counter() - started)
                timings[name] = statistics.median(runs)
    for name, seconds in timings.items():
        print(f"{name:9s} {seconds:7.2f} s (median of {args.repeat})")
    print(f"longest/ordinary: {timings['longest'] / timings['ordinary']:.1f}x")


if __name__ == "__main__":
    main()
