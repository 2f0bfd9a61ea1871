"""Security suite (issue 15 item 7), one module per theme; it runs in ``make test``.

- test_csrf_everywhere: every POST/PUT/PATCH/DELETE rule of the URL map refuses a request
  without (or with another session's) CSRF token, plain and htmx, before the view writes.
- test_injection: script/template/SQL/formula strings typed through the forms stay inert in
  pages, fragments, PDFs and every XLSX export; SQL in search boxes is text.
- test_pdf_fetching: no PDF route fetches file://, http:// or a redirect; the fetcher refuses them.
- test_uploads: 413 past the request limit on every upload route, type by content, zip bombs and
  billion laughs refused quickly, random names on disk.
- test_sessions_and_cookies: Secure/HttpOnly/SameSite under the production config, logout,
  password change and disabling end existing sessions, link guessing → 429, no open redirect.
- test_logs: no password, survey token or phone number in any log record or the audit trail.
- test_idor_sweep: B's objects tried by PM A, sales A and another department's member, through
  every GET (query strings, fragments, downloads) and every POST naming them.

Already proved elsewhere and referenced, not repeated: the URL-map access matrix
(tests/blueprints/test_authorization_matrix.py), foreign Host headers
(tests/blueprints/test_trusted_hosts.py), open redirects after login, copied-cookie replay after
logout and the cookie flags under the test config (tests/blueprints/test_auth.py), login and
survey-link throttling (tests/blueprints/test_login_throttle.py, tests/test_rate_limit_redis.py),
the hostile PDF template and static-folder escapes (tests/services/test_pdf.py), workbook bombs
at the service level (tests/services/test_case_import.py), formula neutralisation per export
(tests/services/test_rollup_outputs.py, test_callback_summary.py, test_case_import.py,
tests/blueprints/test_complaint_report_page.py) and the access log (tests/test_access_log.py).
"""

import os

import pytest

#: for the modules that test the application layer (CSRF, cookies and sessions, uploads, PDF
#: fetching, logs): the same code answers whatever the database, so they run in the SQLite pass
#: only; the IDOR sweep and the injection tests (SQL in search boxes) run on both engines
APP_LAYER_ONLY = pytest.mark.skipif(os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                                    reason="application layer: runs in the SQLite pass (make test)")
