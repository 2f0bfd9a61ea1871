"""The portal under load: gunicorn on a mid-scale instance, driven by wrk, each page against a trivial route.

    .venv/bin/python bench/load.py [--instance DIR] [--duration 12] [--connections 20] [--workers 4]
                                   [--worker-class sync|gthread] [--threads 1] [--cold] [--only NAMES]

On PostgreSQL: ``DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/scale_h`` (the database
must exist; the migrations and the data are loaded when missing). By default SQLite in the instance
folder. ``--instance DIR`` reuses that instance (``flask demo --scale mid`` adds nothing the second
time); without it the instance is /tmp/portal-load-<engine>, built on first use.

Steps: ``flask db upgrade`` and ``flask demo --scale mid`` (idempotent); gunicorn with --workers
workers of --worker-class (sync by default, as in production behind the load balancer, where each
request reaches a free worker; gthread as ``make run``, where wrk's 20 keep-alive connections stay
with the worker that accepted them: the same throughput, a longer tail), without the access log,
on a free loopback port; one login per role for its session cookie; a bench round of fresh invitations with known tokens (through
services.rounds.open_round), each opened (GET /s/<token>, GET /survey) for its survey session and
CSRF token, so that every POST /survey/submit is a first submission; the bench round is removed
again afterwards, and any left by an earlier run before the pages are measured. Then wrk, --connections
connections for --duration seconds per page, with the Lua script below (cookies, POST bodies, p95
from wrk's histogram). The trivial route is the static favicon, served by the same app and workers,
measured in the same run.

The survey pages' per-address rate limit (SURVEY_RATE_LIMIT, 30 a minute) would refuse a load
test from one address; the bench raises it for its server (SURVEY_RATE_LIMIT=1000000 per minute).

The busiest pages keep their figures between writes (services/figures_cache.py); nothing is
written while wrk runs, so they are served kept. ``--cold`` (FIGURES_CACHE=0) measures every
request computing them, as the first request after each write does.

Printed per page: requests/s, p50/p95/p99 in ms, errors (non-2xx/3xx, socket errors), and the
ratios to the trivial route (p95 ÷ trivial p95, rps ÷ trivial rps). Targets: staff pages p95 <=
300 ms at 20 connections; the public form submit >= 100/s with no errors (PostgreSQL). With
--check the exit status is 1 when a target is missed.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')
STAFF_P95_MS = 300
SUBMITS_PER_S = 100
#: a satisfied answer to every question of the zh PM questionnaire (portal/seed/templates.py)
ANSWERS = {f"q_{code}": "5" for code in ("attitude", "timeliness", "technical", "communication", "resolution",
                                         "documentation", "overall")}


# --- a minimal browser (cookies, no redirects followed) -------------------------------------------

class Browser:
    def __init__(self, port):
        self.port = port
        self.cookies = {}

    def request(self, method, path, form=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Accept-Language": "zh", "Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read().decode("utf-8", "replace")
        for value in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        conn.close()
        return response.status, response.headers, data

    def cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def csrf(self, html):
        match = CSRF_RE.search(html)
        if not match:
            raise SystemExit("no CSRF token in the page")
        return match.group(1) or match.group(2)

    def login(self, username, password):
        status, _h, html = self.request("GET", "/login")
        status, _h, html = self.request("POST", "/login", {"username": username, "password": password,
                                                           "csrf_token": self.csrf(html)})
        if status != 303:
            raise SystemExit(f"login of {username} failed ({status}): {html[:300]}")
        return self.cookie_header()


# --- the instance and the server -----------------------------------------------------------------

def environment(instance, database_url):
    env = dict(os.environ, PORTAL_INSTANCE_PATH=str(instance), FLASK_APP="wsgi",
               SURVEY_RATE_LIMIT="1000000 per minute", PYTHONUNBUFFERED="1")
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)
    return env


def build(env):
    """Migrate and load the demo and the mid-scale data (idempotent: a loaded instance is kept)."""
    started = time.perf_counter()
    subprocess.run([str(VENV / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run([str(VENV / "flask"), "demo", "--scale", "mid"], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("scale ") or line.startswith("demo data in"):
            print(f"  {line}")
    print(f"  instance ready in {time.perf_counter() - started:.1f} s")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env, port, workers, threads, worker_class="gthread"):
    log = tempfile.NamedTemporaryFile(prefix="portal-load-", suffix=".log", delete=False)
    server = subprocess.Popen(
        [str(VENV / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class",
         worker_class, "--threads", str(threads), "--no-control-socket", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if Browser(port).request("GET", "/static/favicon.svg")[0] == 200:
                return server, log.name
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise SystemExit(f"gunicorn did not start; see {log.name}")


def stop_server(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


# --- the bench round: fresh invitations with known tokens ------------------------------------------

def fresh_tokens(env, count):
    """A new bench client with ``count`` contacts, a project of pm1's and a round inviting them all;
    returns the links' tokens (run in a child process on the instance's own configuration)."""
    script = f"""
import json, logging, sys
logging.disable(logging.INFO)
from datetime import datetime
from sqlalchemy import select
from portal import create_app
from portal.extensions import db
from portal.models import Client, Contact, Project, Template, TemplateVersion, User
from portal.services.quarters import current_quarter, quarter_bounds
from portal.services.rounds import open_round
from portal.services.tokens import decrypt_token
app = create_app()
with app.app_context():
    stamp = datetime.now().strftime("%Y%m%d%H%M%S%f")
    pm = db.session.scalar(select(User).where(User.username == "pm1"))
    client = Client(name=f"负载测试客户 {{stamp}}")
    db.session.add(client)
    contacts = [Contact(client=client, name=f"测试联系人{{n}}", function="site_admin", language="zh",
                        email=f"load{{n}}@bench.example.cn") for n in range({count})]
    db.session.add_all(contacts)
    project = Project(code=f"{BENCH_PREFIX}{{stamp}}", name="负载测试项目", client=client, pm=pm, status="active")
    db.session.add(project)
    db.session.flush()
    version = db.session.scalars(select(TemplateVersion).join(Template).where(
        Template.kind == "pm_quarterly", Template.language == "zh").order_by(TemplateVersion.number.desc())).first()
    quarter = current_quarter()
    rnd = open_round(project, quarter, version, contacts, quarter_bounds(quarter)[1], pm)
    db.session.flush()
    tokens = [decrypt_token(i.token_encrypted) for i in rnd.invitations]
    db.session.commit()
    json.dump(tokens, sys.stdout)
"""
    out = subprocess.run([str(VENV / "python"), "-c", script], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


#: what the bench adds for its POST run (fresh_tokens), removed again after it (remove_bench_rounds)
BENCH_PREFIX = "LOAD-"


def remove_bench_rounds(env):
    """Remove every bench round's client, contacts, project, invitations and forms (projects coded
    LOAD-…), this run's and any earlier one's: each run adds thousands of invitations and forms
    to the current quarter, and the next run's pages would count them."""
    script = f"""
import logging, sys
logging.disable(logging.INFO)
from sqlalchemy import delete, select
from portal import create_app
from portal.extensions import db
from portal.models import (Answer, Client, Contact, FollowUp, FollowUpEvent, Invitation, OutboxMessage, Project,
                           Response, RoundVersion, SurveyRound)
app = create_app()
with app.app_context():
    projects = select(Project.id).where(Project.code.like("{BENCH_PREFIX}%"))
    rounds = select(SurveyRound.id).where(SurveyRound.project_id.in_(projects))
    forms = select(Response.id).where(Response.project_id.in_(projects))
    clients = select(Project.client_id).where(Project.code.like("{BENCH_PREFIX}%"))
    counted = db.session.scalar(select(db.func.count()).select_from(forms.subquery()))
    followups = select(FollowUp.id).where(FollowUp.response_id.in_(forms))
    db.session.execute(delete(FollowUpEvent).where(FollowUpEvent.followup_id.in_(followups)))
    db.session.execute(delete(FollowUp).where(FollowUp.response_id.in_(forms)))
    db.session.execute(delete(Answer).where(Answer.response_id.in_(forms)))
    db.session.execute(delete(Response).where(Response.project_id.in_(projects)))
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.invitation_id.in_(
        select(Invitation.id).where(Invitation.round_id.in_(rounds)))))
    db.session.execute(delete(Invitation).where(Invitation.round_id.in_(rounds)))
    db.session.execute(delete(RoundVersion).where(RoundVersion.round_id.in_(rounds)))
    client_ids = list(db.session.scalars(clients))
    db.session.execute(delete(SurveyRound).where(SurveyRound.project_id.in_(projects)))
    db.session.execute(delete(Project).where(Project.code.like("{BENCH_PREFIX}%")))
    db.session.execute(delete(Contact).where(Contact.client_id.in_(client_ids)))
    db.session.execute(delete(Client).where(Client.id.in_(client_ids)))
    db.session.commit()
    print(counted)
"""
    out = subprocess.run([str(VENV / "python"), "-c", script], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip() or 0)


def open_survey(port, token):
    """Open a link as the client does: its survey session cookie and the form's CSRF token."""
    browser = Browser(port)
    status, headers, _ = browser.request("GET", f"/s/{token}")
    if status != 303:
        raise SystemExit(f"survey link refused ({status})")
    status, _h, html = browser.request("GET", "/survey")
    if status != 200:
        raise SystemExit(f"survey form refused ({status})")
    return browser.cookie_header(), browser.csrf(html)


def survey_sessions(port, tokens, parallel=8):
    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda t: open_survey(port, t), tokens))


# --- wrk ---------------------------------------------------------------------------------------------

LUA = r"""
-- wrk script of bench/load.py: a session cookie for GET pages (LOAD_COOKIE), or a pool of one-use
-- POSTs (LOAD_POOL: lines "cookie<TAB>body", each thread taking every n-th line), and the figures
-- printed as one JSON line (p95 from wrk's histogram, which --latency does not print).
local cookie = os.getenv("LOAD_COOKIE") or ""
local pool_path = os.getenv("LOAD_POOL") or ""
local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  entries, used, exhausted, statuses, status_counts, loaded = {}, 0, 0, {}, "", false
end

-- read this thread's share of the pool on its first request (init may run before every thread is set up)
local function load_pool()
  loaded = true
  local nthreads, n = tonumber(os.getenv("LOAD_THREADS")), 0
  for line in io.lines(pool_path) do
    if n % nthreads == index then
      local tab = line:find("\t", 1, true)
      table.insert(entries, {line:sub(1, tab - 1), line:sub(tab + 1)})
    end
    n = n + 1
  end
end

function request()
  if pool_path == "" then
    if cookie == "" then
      return wrk.format("GET")
    end
    return wrk.format("GET", nil, {["Cookie"] = cookie})
  end
  if not loaded then load_pool() end
  used = used + 1
  local entry = entries[used]
  if entry == nil then
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/static/favicon.svg")
  end
  return wrk.format("POST", nil, {["Cookie"] = entry[1],
                                  ["Content-Type"] = "application/x-www-form-urlencoded"}, entry[2])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local parts = {}
  for code, n in pairs(statuses) do table.insert(parts, '"' .. code .. '": ' .. n) end
  status_counts = table.concat(parts, ", ")
end

function done(summary, latency, requests)
  local exhausted_any, counts = false, {}
  for _, t in ipairs(threads) do
    if t:get("exhausted") == 1 then exhausted_any = true end
    if t:get("status_counts") ~= "" then table.insert(counts, "{" .. t:get("status_counts") .. "}") end
  end
  local e = summary.errors
  io.write(string.format(
    'LOADJSON {"requests": %d, "duration_us": %d, "rps": %.3f, "p50": %d, "p95": %d, "p99": %d, ' ..
    '"status_errors": %d, "socket_errors": %d, "exhausted": %s, "statuses": [%s]}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout, tostring(exhausted_any), table.concat(counts, ", ")))
end
"""

def run_wrk(port, path, *, cookie=None, pool=None, duration, connections, threads=2):
    threads = min(threads, connections)
    env = dict(os.environ, LOAD_COOKIE=cookie or "", LOAD_POOL=pool or "", LOAD_THREADS=str(threads))
    with tempfile.NamedTemporaryFile("w", prefix="portal-load-", suffix=".lua") as script:
        script.write(LUA)
        script.flush()
        cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
               "--timeout", "10s", "-s", script.name, f"http://127.0.0.1:{port}{path}"]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("LOADJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no figures:\n{out}")
    return json.loads(line[len("LOADJSON "):])


def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("wrk is missing: installing it from Debian (apt-get install -y wrk)")
    if os.geteuid() != 0:
        raise SystemExit("run as root or install wrk: sudo apt-get install -y wrk")
    if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"]).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instance", type=Path, help="instance folder to build or reuse")
    parser.add_argument("--duration", type=int, default=12, help="seconds per page")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--worker-class", default="sync",
                        help="gunicorn worker class: sync (the production arrangement behind a load balancer, "
                             "docs/operations.md) or gthread (make run's, clients connecting directly)")
    parser.add_argument("--cold", action="store_true",
                        help="FIGURES_CACHE=0: every page computes its figures, as after each write")
    parser.add_argument("--submissions", type=int, default=3000, help="fresh invitations for the POST run")
    parser.add_argument("--only", help="comma-separated page names to run (besides the trivial route)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    ensure_wrk()
    database_url = os.environ.get("DATABASE_URL")
    engine = "postgresql" if (database_url or "").startswith("postgresql") else "sqlite"
    instance = args.instance or Path(tempfile.gettempdir()) / f"portal-load-{engine}"
    instance.mkdir(parents=True, exist_ok=True)
    env = environment(instance.resolve(), database_url)
    if args.cold:
        env["FIGURES_CACHE"] = "0"
    print(f"load: {engine}, instance {instance}, gunicorn {args.workers} {args.worker_class} workers × "
          f"{args.threads} threads, wrk {args.connections} connections × {args.duration} s per page"
          + (", figures cache off" if args.cold else ""))
    build(env)
    removed = remove_bench_rounds(env)
    if removed:
        print(f"  removed {removed} forms of earlier bench rounds ({BENCH_PREFIX}… projects)")
    password = os.environ.get("DEMO_PASSWORD", "portal-demo")
    port = free_port()
    server, log = start_server(env, port, args.workers, args.threads, args.worker_class)
    try:
        rows = measure(args, env, port, password)
    finally:
        stop_server(server)
    missed = report(rows, engine)
    print(f"  (server log: {log})")
    if args.check and missed:
        sys.exit(1)


def pages(port, password):
    """(name, role cookie or None, path) of each page measured, the trivial route first."""
    from_portal = _quarters()
    cookies = {u: Browser(port).login(u, password)
               for u in ("pm1", "sales1", "quality1", "pmo1", "archive1", "exec1", "admin")}
    current, previous = from_portal
    return [
        ("trivial /static/favicon.svg", None, "/static/favicon.svg", "trivial"),
        *[(f"home {u}", cookies[u], "/", "staff") for u in cookies],
        ("projects ?q= (pmo1)", cookies["pmo1"], "/projects/?q=%E8%BF%90%E7%BB%B4", "staff"),
        ("projects ?q= (pm1)", cookies["pm1"], "/projects/?q=SC-", "staff"),
        ("callback queue (quality1)", cookies["quality1"], f"/callbacks/?quarter={current}", "staff"),
        ("callback queue all", cookies["quality1"], f"/callbacks/?quarter={current}&all=1&state=all", "staff"),
        ("complaints (quality1)", cookies["quality1"], "/complaints/", "staff"),
        (f"rollup {previous} (quality1)", cookies["quality1"], f"/rollup/{previous}", "staff"),
        (f"rollup {current} preview", cookies["quality1"], f"/rollup/{current}/preview", "staff"),
    ]


def _quarters():
    from datetime import datetime, timedelta, timezone
    local = datetime.now(timezone.utc) + timedelta(hours=8)  # Asia/Shanghai, the default PORTAL_TIMEZONE
    year, q = local.year, (local.month - 1) // 3 + 1
    previous = f"{year}Q{q - 1}" if q > 1 else f"{year - 1}Q4"
    return f"{year}Q{q}", previous


def measure(args, env, port, password):
    only = set(filter(None, (args.only or "").split(",")))
    rows = []
    listed = pages(port, password)
    for name, cookie, path, kind in listed:
        if only and kind != "trivial" and not any(o in name for o in only):
            continue
        browser = Browser(port)
        if cookie:
            browser.cookies = dict(c.split("=", 1) for c in cookie.split("; "))
        for _ in range(3):  # warm each path and check it answers
            status, _h, body = browser.request("GET", path)
        if status != 200:
            raise SystemExit(f"{name}: {path} answered {status}: {body[:300]}")
        rows.append((name, kind, run_wrk(port, path, cookie=cookie, duration=args.duration,
                                         connections=args.connections)))
        print(f"  measured {name}", flush=True)
    if not only or any(o in "survey" for o in only):
        rows += measure_survey(args, env, port)
    return rows


def measure_survey(args, env, port):
    started = time.perf_counter()
    tokens = fresh_tokens(env, args.submissions + 1)
    sessions = survey_sessions(port, tokens)
    print(f"  {len(sessions)} survey sessions opened in {time.perf_counter() - started:.1f} s", flush=True)
    get_cookie, _csrf = sessions.pop()
    rows = [("survey form GET", "public", run_wrk(port, "/survey", cookie=get_cookie, duration=args.duration,
                                                  connections=args.connections))]
    body = urlencode(ANSWERS)
    with tempfile.NamedTemporaryFile("w", prefix="portal-load-pool-", suffix=".tsv", delete=False) as pool:
        for cookie, csrf in sessions:
            pool.write(f"{cookie}\t{body}&csrf_token={csrf}\n")
    try:
        rows.append(("survey submit POST", "submit", run_wrk(port, "/survey/submit", pool=pool.name,
                                                            duration=args.duration, connections=args.connections)))
    finally:
        os.unlink(pool.name)
        print(f"  removed the bench round again ({remove_bench_rounds(env)} forms)", flush=True)
    return rows


def report(rows, engine):
    trivial = next(r for n, k, r in rows if k == "trivial")
    print()
    print(f"{'page':34} {'rps':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'p95 ×triv':>10}"
          f" {'rps ÷triv':>10}  target")
    missed = []
    for name, kind, r in rows:
        p50, p95, p99 = (r[k] / 1000 for k in ("p50", "p95", "p99"))
        errors = r["status_errors"] + r["socket_errors"]
        target = ""
        if kind == "staff":
            ok = p95 <= STAFF_P95_MS
            target = f"p95 <= {STAFF_P95_MS} ms: {'ok' if ok else 'MISSED'}"
        elif kind == "submit":
            ok = r["rps"] >= SUBMITS_PER_S and errors == 0
            target = f">= {SUBMITS_PER_S}/s, 0 errors: {'ok' if ok else 'MISSED'}"
            if r.get("exhausted"):
                target += " (pool of fresh sessions ran out: rps is a lower bound)"
        else:
            ok = True
        if not ok and (kind == "staff" or engine == "postgresql"):
            missed.append(name)
        print(f"{name:34} {r['rps']:8.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f} {errors:7d}"
              f" {p95 / (trivial['p95'] / 1000):10.1f} {r['rps'] / trivial['rps']:10.2f}  {target}")
    return missed


if __name__ == "__main__":
    main()
