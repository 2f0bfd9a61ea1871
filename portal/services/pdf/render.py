"""HTML templates to PDF with WeasyPrint, without ever touching the network (DESIGN §7).

Templates under ``templates/pdf/`` are rendered from plain data and laid out by
WeasyPrint. Every resource a document asks for (stylesheet, image, font,
attachment) goes through :class:`SafeFetcher`, which serves only files inside the
application's static folder and refuses everything else: other hosts, ``file:``,
``data:``, ``ftp:``, paths escaping the folder by ``..`` or a symlink. A refused
resource is simply missing from the document; the refusal is logged.

Relative links and ``url_for('static', ...)``-style paths resolve against
``PDF_ORIGIN``, a host under the reserved ``.invalid`` domain that this fetcher
maps onto the static folder; nothing is ever requested from it.
"""
import logging
import mimetypes
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .. import DomainError

log = logging.getLogger(__name__)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # one INFO line per layout step

#: the one font configuration (fontconfig + Pango font map) every render shares
FONT_CONFIG = FontConfiguration()

#: the pretend origin relative URLs resolve against; never contacted
PDF_ORIGIN = "http://portal-pdf.invalid"

#: footer text; the placeholders become CSS page counters
PAGE_COUNTER = _l("Page %(page)s of %(pages)s")


class ResourceRefused(ValueError):
    """A PDF tried to load something outside the static folder; WeasyPrint skips it."""


class SafeFetcher(URLFetcher):
    """Serve ``PDF_ORIGIN/<static_url_path>/<file>`` from the static folder; refuse anything else."""

    def __init__(self, static_folder, static_url_path="/static", log_refusals=True):
        super().__init__(allowed_protocols=frozenset(), allow_redirects=False)
        self.log_refusals = log_refusals
        self.static_root = Path(static_folder).resolve()
        self.static_prefix = static_url_path.rstrip("/") + "/"
        self.refused = []

    def fetch(self, url, headers=None):
        path = self._static_file(url)
        if path is None:
            self.refused.append(url)
            if self.log_refusals:
                log.warning("PDF resource refused: %s", url[:200])
            raise ResourceRefused(f"not a static file of this application: {url[:200]}")
        return URLFetcherResponse(url, path.read_bytes(),
                                  {"Content-Type": mimetypes.guess_type(path.name)[0]
                                   or "application/octet-stream"})

    def _static_file(self, url):
        """The file ``url`` names inside the static folder, or None."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        origin = urlsplit(PDF_ORIGIN)
        if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
            return None
        path = unquote(parts.path)
        if not path.startswith(self.static_prefix) or "\x00" in path:
            return None
        candidate = (self.static_root / path[len(self.static_prefix):]).resolve()
        if not candidate.is_relative_to(self.static_root) or not candidate.is_file():
            return None
        return candidate


def safe_fetcher(app=None):
    """A fresh :class:`SafeFetcher` for ``app``'s static folder (it records what it refused)."""
    app = app or current_app
    return SafeFetcher(app.static_folder, app.static_url_path or "/static")


def page_counter_css(text=None) -> Markup:
    """The translated "Page N of M" as a CSS ``content`` value with page counters
    (escaped for CSS inside <style>, so safe to print unescaped)."""
    text = str(text or PAGE_COUNTER)
    marker = "\x00"
    text = text.replace("%(page)s", marker + "page" + marker).replace("%(pages)s", marker + "pages" + marker)
    parts = []
    for i, piece in enumerate(text.split(marker)):
        if i % 2:
            parts.append(f"counter({piece})")
        elif piece:
            parts.append(css_string(piece))
    return Markup(" ".join(parts) or '""')


def css_string(value) -> Markup:
    """``value`` as a quoted CSS string, safe to print inside <style>."""
    escaped = "".join(c if c.isprintable() and c not in '"\\<>' else f"\\{ord(c):x} " for c in str(value))
    return Markup(f'"{escaped}"')


class PdfTimeout(DomainError):
    """A document took longer than PDF_TIME_LIMIT to lay out; its render was killed."""


@dataclass(frozen=True)
class Layout:
    data: bytes
    refused: tuple   # URLs the fetcher refused
    pid: int         # the process that laid it out


def layout(html, static_folder, static_url_path="/static") -> Layout:
    """Lay out ``html`` as PDF with the safe fetcher; runs in a render process (or here)."""
    fetcher = SafeFetcher(static_folder, static_url_path, log_refusals=False)  # the caller logs
    data = HTML(string=html, base_url=PDF_ORIGIN + fetcher.static_prefix,
                url_fetcher=fetcher).write_pdf(font_config=FONT_CONFIG)
    return Layout(data, tuple(fetcher.refused), os.getpid())


# --- render processes: a hard time limit on every layout ------------------------------------
# WeasyPrint cannot be interrupted inside a thread, so layouts run in a small pool of
# processes forked from a clean fork server; one that runs past the limit is killed and
# the pool replaced. The pool is per web process and started on first use. As with any
# multiprocessing fork server, a script that renders PDFs must keep its top-level work under
# ``if __name__ == "__main__":`` (gunicorn, flask and pytest do): the render processes import
# the main module.

_pool = None
_pool_lock = threading.Lock()


def _executor(size):
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=size, mp_context=multiprocessing.get_context("forkserver"))
        return _pool


def _discard_pool(pool):
    """Kill every render process of ``pool`` (a layout past its limit is among them)."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def layout_with_time_limit(html, static_folder, static_url_path, seconds, processes=2) -> Layout:
    """``layout`` in a render process, killed after ``seconds`` (PdfTimeout)."""
    for attempt in (1, 2):
        pool = _executor(processes)
        try:
            return pool.submit(layout, html, static_folder, static_url_path).result(timeout=seconds)
        except FutureTimeout:
            _discard_pool(pool)
            log.error("PDF layout killed after %ss", seconds)
            raise PdfTimeout(_l("This document took too long to produce and was stopped. "
                                "Please try again later or ask an administrator.")) from None
        except BrokenProcessPool:  # another layout's kill took this one with it: once more
            _discard_pool(pool)
            if attempt == 2:
                raise


def render_pdf(template_name, fetcher=None, **plain_data) -> bytes:
    """Render ``templates/<template_name>`` with ``plain_data`` and lay it out as PDF bytes,
    within PDF_TIME_LIMIT seconds. ``fetcher``: collects the refused URLs (tests)."""
    html = render_template(template_name, page_counter=page_counter_css(), css_string=css_string,
                           **plain_data)
    app = current_app._get_current_object()
    fetcher = fetcher or safe_fetcher(app)
    static_url_path = fetcher.static_prefix.rstrip("/") or "/static"
    result = layout_with_time_limit(html, str(fetcher.static_root), static_url_path,
                                    app.config["PDF_TIME_LIMIT"], app.config["PDF_PROCESSES"])
    for url in result.refused:
        log.warning("PDF resource refused: %s", url[:200])
    fetcher.refused.extend(result.refused)
    return result.data
