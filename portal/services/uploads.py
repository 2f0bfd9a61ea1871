"""Scans of returned paper forms: checked by content, stored outside the web root.

The type is decided by the file's first bytes (PDF, JPEG, PNG), never by its name
or the browser's claim. Files are kept in UPLOAD_FOLDER under a random name; the
original name and a SHA-256 are recorded on the Attachment.
"""
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Attachment
from . import DomainError
from .audit import record_event

#: content type → (magic bytes at offset 0, file extension for downloads)
SIGNATURES = {
    "application/pdf": (b"%PDF-", "pdf"),
    "image/jpeg": (b"\xff\xd8\xff", "jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
}
STORED_NAME = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 64 * 1024


@dataclass
class ScanUpload:
    """An upload that passed the checks, held in memory until the response it belongs to exists."""
    data: bytes
    content_type: str
    original_name: str

    @property
    def size(self) -> int:
        return len(self.data)


def sniff_type(head: bytes) -> Optional[str]:
    for content_type, (magic, _ext) in SIGNATURES.items():
        if head.startswith(magic):
            return content_type
    return None


def _clean_name(name: str, content_type: str) -> str:
    """The original name for display and downloads: no path, no control characters."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?').strip()[:200]
    return name or f"scan.{SIGNATURES[content_type][1]}"


def read_bounded(stream, max_bytes, field) -> bytes:
    """An upload's bytes, read in chunks and refused (DomainError on ``field``) past ``max_bytes``
    or when empty; scans and complaint evidence share it."""
    chunks, size = [], 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise DomainError(_l("The file is too large (at most %(mb).1f MB).", mb=max_bytes / 1048576),
                              field=field)
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise DomainError(_l("The file is empty."), field=field)
    return data


def read_scan(stream, filename, max_bytes, field="scan") -> ScanUpload:
    """Read an uploaded file (a binary stream) and check its size and type; DomainError on ``field``."""
    data = read_bounded(stream, max_bytes, field)
    content_type = sniff_type(data[:16])
    if content_type is None:
        raise DomainError(_l("Only PDF, JPEG or PNG scans can be attached."), field=field)
    return ScanUpload(data, content_type, _clean_name(filename, content_type))


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def store_scan(response, scan: ScanUpload, by_user) -> Attachment:
    """Write the scan under a generated name and record it as an attachment of ``response``."""
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    fd = os.open(folder / stored_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as fh:
        fh.write(scan.data)
    attachment = Attachment(response=response, original_name=scan.original_name, stored_name=stored_name,
                            content_type=scan.content_type, size=scan.size,
                            sha256=hashlib.sha256(scan.data).hexdigest(),
                            uploaded_by_id=by_user.id if by_user else None)
    db.session.add(attachment)
    db.session.flush()
    record_event("create", attachment, actor=by_user, detail={
        "response": response.id, "name": attachment.original_name, "type": attachment.content_type,
        "size": attachment.size, "sha256": attachment.sha256})
    return attachment


def scan_path(attachment) -> Optional[Path]:
    """The stored file of ``attachment``, or None if it is missing (or the name is not ours)."""
    if not STORED_NAME.match(attachment.stored_name or ""):
        return None
    path = upload_folder() / attachment.stored_name
    return path if path.is_file() else None


def download_name(attachment) -> str:
    return attachment.original_name or f"scan.{SIGNATURES.get(attachment.content_type, ('', 'bin'))[1]}"
