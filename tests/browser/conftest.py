"""Browser fixtures: the portal served on a free local port, driven by Playwright
with Debian's Chromium. Under CI=true a missing browser is a failure, not a skip."""
import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {CHROMIUM} (CI=true: browser tests must run)")
        pytest.skip("Chromium is not installed; `make test` installs it")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _test_thread_reads_without_write_lock():
    """The live server writes while the test thread reads: the test thread must not hold
    SQLite's write lock (it would make the server wait)."""
    from portal.database import deferred_outside_requests
    with deferred_outside_requests():
        yield


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def sign_in(page, username, password):
    """Sign ``page`` in through the login form and wait until the portal has let it in."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


@pytest.fixture
def login(page):
    return lambda username, password: sign_in(page, username, password)


@pytest.fixture
def signed_in(browser, live_server):
    """``signed_in(username)``: a page of its own browser context, signed in (several people in
    one test, each in their own browser); every context is closed at the end."""
    from tests import factories
    contexts = []

    def open_signed_in(username, *, locale="zh-CN", password=factories.PASSWORD):
        context = browser.new_context(base_url=live_server, locale=locale, viewport={"width": 1280, "height": 900},
                                      accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return sign_in(page, username, password)
    yield open_signed_in
    for context in contexts:
        context.close()
