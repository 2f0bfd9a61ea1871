"""Uploads: too large → 413, type decided by content, zip bombs and billion laughs refused quickly,
and no user-chosen file name ever on disk.

Proved elsewhere and not repeated here: the per-file limits under the request limit (a scan:
tests/blueprints/test_rounds.py ``test_a_scan_over_the_size_limit_is_refused``; public evidence:
tests/blueprints/test_complaint_form.py ``test_a_file_over_the_upload_limit_is_refused`` and its
friendly 413 page); workbook checks at the service level (a 50 MB member of zeros, DOCTYPE
entities, sparse sheets, 5,001 parts: tests/services/test_case_import.py
``test_malicious_or_broken_workbooks_are_refused_and_nothing_is_written``).
"""
import io
import resource
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from portal.extensions import limiter
from portal.models import Attachment, CaseImport, Complaint, ComplaintAttachment, HistoryImport, Response
from portal.services.xlsx import write_xlsx

from .. import factories
from ..rounds_world import ANSWERS, build_world

from . import APP_LAYER_ONLY

pytestmark = APP_LAYER_ONLY

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\0" * 64
HTML = b"<html><script>alert(1)</script></html>"
USER_NAME = "../../evil 名字<script>.pdf"


@pytest.fixture
def world(db):
    limiter.enabled = False
    rounds = build_world()
    rnd = rounds.open()
    factories.user("desk", roles=("quality", "admin"))
    yield rounds, rnd
    limiter.enabled = True


def _signed_in(app, username):
    client = app.test_client()
    assert client.post_form("/login", {"username": username, "password": factories.PASSWORD}).status_code == 303
    return client


def _multipart(client, url, fields, token_from):
    """POST ``fields`` as multipart, encoded in memory (the test client would spool a large body to
    a temporary file it does not always close)."""
    token = client.csrf_token(token_from)
    boundary, body = encode_multipart(MultiDict({"csrf_token": token, **fields}))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _routes(rounds, rnd):
    """(who signs in, url, page carrying the token, form fields, file field) per upload route."""
    invitation = rnd.invitations[0]
    contact = rounds.contacts[0]
    complaint = {"channel": "phone", "client_id": str(rounds.client.id), "contact_id": str(contact.id),
                 "project_id": str(rounds.project.id), "description": "附件测试"}
    return {
        "paper scan": ("pm_a", f"/invitations/{invitation.id}/paper", f"/invitations/{invitation.id}/paper",
                       dict(ANSWERS), "scan"),
        "complaint evidence": ("desk", "/complaints/new", "/complaints/new", complaint, "evidence"),
        "public complaint evidence": (None, "/complaint", "/complaint",
                                      {"description": "附件测试", "complainant_name": "赵", "complainant_phone": "13800000000"},
                                      "evidence"),
        "case import": ("desk", "/cases/import", "/cases/import", {}, "file"),
        "history import": ("desk", "/history/import", "/history/import", {}, "file"),
    }


def _send(app, route, content, name):
    username, url, token_from, fields, file_field = route
    client = _signed_in(app, username) if username else app.test_client()
    fields = dict(fields)
    if url == "/complaint":
        import re
        html = client.get("/complaint").get_data(as_text=True)
        fields["submission_key"] = re.search(r'name="submission_key" type="hidden" value="([0-9a-f]{32})"', html).group(1)
    fields[file_field] = FileStorage(io.BytesIO(content), filename=name)
    return _multipart(client, url, fields, token_from)


def _stored_rows(db):
    return [db.session.scalar(select(func.count()).select_from(m))
            for m in (Response, Attachment, Complaint, ComplaintAttachment, CaseImport, HistoryImport)]


ROUTES = ["paper scan", "complaint evidence", "public complaint evidence", "case import", "history import"]


@pytest.mark.parametrize("name", ROUTES)
def test_a_request_over_the_limit_gets_413_and_writes_nothing(app, db, world, monkeypatch, name):
    route = _routes(*world)[name]
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    # the two imports have their own, larger limit (CASE_IMPORT_MAX_BYTES + 1 MiB of form)
    monkeypatch.setitem(app.config, "CASE_IMPORT_MAX_BYTES", 64 * 1024)
    size = 2 * 1024 * 1024 if name in ("case import", "history import") else 128 * 1024
    before = _stored_rows(db)
    response = _send(app, route, PDF + b"0" * size, "big.pdf")
    assert response.status_code == 413
    assert _stored_rows(db) == before


def test_a_ticket_export_up_to_its_own_limit_passes_the_request_limit(app, db, world, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    monkeypatch.setitem(app.config, "CASE_IMPORT_MAX_BYTES", 1024 * 1024)
    body = "工单号,项目编号\n".encode() + b"A-1,P-1\n" * (100 * 1024 // 8)
    assert _send(app, _routes(*world)["case import"], body, "big.csv").status_code != 413


WRONG_CONTENT = [  # (route, bytes, name it claims): each refused at the file field with 422
    ("paper scan", b"PK\x03\x04" + b"\0" * 64, "scan.pdf"),
    ("paper scan", EXE, "scan.pdf"),
    ("paper scan", HTML, "scan.png"),
    ("complaint evidence", EXE, "录音.mp3"),
    ("complaint evidence", HTML, "photo.jpg"),
    ("complaint evidence", None, "note.docx"),  # a zip that is no Office document (_plain_zip)
    ("public complaint evidence", EXE, "evidence.pdf"),
    ("public complaint evidence", HTML, "evidence.png"),
    ("case import", PNG, "tickets.xlsx"),
    ("case import", b"PK\x03\x04 not a workbook at all", "tickets.xlsx"),
    ("history import", EXE, "history.xlsx"),
    ("history import", PDF, "history.xlsx"),
]


def _plain_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "not an office document")
    return out.getvalue()


@pytest.mark.parametrize("name, content, filename", WRONG_CONTENT,
                         ids=[f"{r}-{f}-{i}" for i, (r, _c, f) in enumerate(WRONG_CONTENT)])
def test_the_type_is_decided_by_content_not_by_name(app, db, world, name, content, filename):
    route = _routes(*world)[name]
    before = _stored_rows(db)
    response = _send(app, route, content if content is not None else _plain_zip(), filename)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, (name, filename, response.status_code)
    assert f'id="field-{route[4]}"' in html
    assert _stored_rows(db) == before


# --- zip bombs and billion laughs ---------------------------------------------------------------

def _deflated_zeros(gibibytes):
    """Raw deflate of ``gibibytes`` GiB of zeros, some 1 MB per GiB: one flushed block repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b"\0" * (1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * (1024 * gibibytes) + compressor.flush()


def _zip(members):
    """A zip of ``members`` [(name, raw deflate, crc, declared size)] written by hand, so a member
    may claim any size."""
    out, central = io.BytesIO(), []
    for name, raw, crc, size in members:
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(raw), size, len(encoded), 0))
        out.write(encoded + raw)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(raw), size,
                                   len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), out.tell() - start,
                          start, 0))
    return out.getvalue()


def _bomb_workbook(honest):
    """A real workbook whose first sheet is 2 GiB of zeros (deflated to 2 MB); ``honest``: the
    zip says so, else it claims 1 KB."""
    clean = zipfile.ZipFile(io.BytesIO(write_xlsx([("Sheet1", ["工单号"], [["A-1"]])])))
    members = []
    for info in clean.infolist():
        content = clean.read(info.filename)
        if info.filename == "xl/worksheets/sheet1.xml":
            raw = _deflated_zeros(2)
            members.append((info.filename, raw, 0, 2 * 1024 ** 3 if honest else 1024))
            continue
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        members.append((info.filename, compressor.compress(content) + compressor.flush(), zlib.crc32(content),
                        len(content)))
    return _zip(members)


def _billion_laughs_workbook():
    clean = zipfile.ZipFile(io.BytesIO(write_xlsx([("Sheet1", ["工单号"], [["A-1"]])])))
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
           + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>').encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in clean.infolist():
            archive.writestr(info.filename, lol if info.filename == "xl/worksheets/sheet1.xml"
                             else clean.read(info.filename))
    return out.getvalue()


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


HOSTILE_WORKBOOKS = {"zip bomb (honest sizes)": (lambda: _bomb_workbook(True), "zip bomb"),
                     "zip bomb (lying sizes)": (lambda: _bomb_workbook(False), "Excel workbook"),
                     "billion laughs": (_billion_laughs_workbook, "DOCTYPE")}


@pytest.mark.parametrize("route_name", ["case import", "history import"])
@pytest.mark.parametrize("kind", list(HOSTILE_WORKBOOKS))
def test_hostile_workbooks_are_refused_quickly_with_a_clear_message(app, db, world, route_name, kind):
    build, words = HOSTILE_WORKBOOKS[kind]
    data = build()
    assert len(data) < 3 * 1024 * 1024
    before, peak = _stored_rows(db), _peak_rss_mb()
    started = time.process_time()
    username = _routes(*world)[route_name][0]
    response = _send(app, _routes(*world)[route_name], data, "tickets.xlsx")
    if route_name == "history import" and response.status_code == 303:  # a larger file: the job's page
        response = _signed_in(app, username).get(response.headers["Location"])
        assert "rejected" in response.get_data(as_text=True).lower() or response.status_code == 422
    spent = time.process_time() - started
    html = response.get_data(as_text=True)
    assert response.status_code in (200, 422) and words in html, (kind, response.status_code)
    assert spent < 3, f"{kind}: {spent:.1f} s of CPU"
    assert _peak_rss_mb() - peak < 150  # the 2 GiB are never held
    assert db.session.scalar(select(func.count()).select_from(HistoryImport)) == before[-1]


def test_a_zip_bomb_as_complaint_evidence_is_never_unpacked(app, db, world):
    """Evidence is kept as an opaque file: only the zip's directory is read to tell its type."""
    data = _bomb_workbook(True)
    peak = _peak_rss_mb()
    started = time.process_time()
    response = _send(app, _routes(*world)["complaint evidence"], data, "bomb.xlsx")
    assert response.status_code in (303, 422)
    assert time.process_time() - started < 3 and _peak_rss_mb() - peak < 150


# --- names on disk ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["paper scan", "complaint evidence", "public complaint evidence"])
def test_the_users_file_name_never_reaches_the_disk(app, db, world, name):
    folder = Path(app.config["UPLOAD_FOLDER"])
    before = {p for p in folder.rglob("*")} if folder.exists() else set()
    response = _send(app, _routes(*world)[name], PDF, USER_NAME)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    new = {p for p in folder.rglob("*")} - before
    assert new and all(p.parent == folder and len(p.name) == 32 and set(p.name) <= set("0123456789abcdef")
                       for p in new), new
    assert not (folder.parent / "evil 名字<script>.pdf").exists()
    stored = db.session.scalars(select(Attachment.original_name)).all() + \
        db.session.scalars(select(ComplaintAttachment.original_name)).all()
    assert stored and all("/" not in n and "<" not in n and ".." not in n.split("evil")[0] for n in stored), stored


def test_a_ticket_exports_name_never_reaches_the_disk(app, db, world):
    folder = Path(app.config["UPLOAD_FOLDER"])
    before = {p for p in folder.rglob("*")} if folder.exists() else set()
    csv = "工单号,项目编号,优先级,报告人,报告人电话,摘要,关闭时间\nA-1,P-1,P1,王,,x,2026-10-03\n".encode()
    response = _send(app, _routes(*world)["case import"], csv, "../../evil 名字.csv")
    assert response.status_code == 200, response.status_code
    new = {p for p in folder.rglob("*") if p.is_file()} - before
    assert new and all("evil" not in str(p) and ".." not in p.relative_to(folder).parts for p in new), new
