"""Evidence files of a complaint (recordings, photos, documents): the scans' rules
(``services.uploads``) widened to audio and office documents. The type is decided by the
file's content, never by its name or the browser's claim; files are stored outside the web
root under a random name, with the original name and a SHA-256 on the ComplaintAttachment."""
import hashlib
import io
import os
import secrets
import zipfile
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import ComplaintAttachment
from .. import DomainError
from ..audit import record_event
from ..uploads import read_bounded, upload_folder

#: content type -> file extension for downloads
EXTENSIONS = {
    "application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif",
    "image/webp": "webp", "image/heic": "heic",
    "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/wav": "wav", "audio/amr": "amr",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/msword": "doc", "application/vnd.ms-excel": "xls", "application/vnd.ms-powerpoint": "ppt",
}
_OOXML = {"word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
_OLE = {"doc": "application/msword", "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint"}
_M4A_BRANDS = (b"M4A ", b"M4B ", b"mp42", b"mp41", b"isom", b"3gp4", b"3gp5")
_HEIC_BRANDS = (b"heic", b"heix", b"mif1", b"msf1")


@dataclass
class EvidenceUpload:
    """A file that passed the checks, held in memory until its complaint exists."""
    data: bytes
    content_type: str
    original_name: str

    @property
    def size(self) -> int:
        return len(self.data)


def sniff_evidence(data: bytes, filename: str = "") -> str | None:
    """The content type of an evidence file by its bytes (the name only tells old Office files
    apart, which share one container format), or None when it is none we accept."""
    head = data[:16]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head[4:8] == b"ftyp":
        if head[8:12] in _M4A_BRANDS:
            return "audio/mp4"
        if head[8:12] in _HEIC_BRANDS:
            return "image/heic"
    if head.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, ValueError):
            return None
        if "[Content_Types].xml" in names:
            for prefix, content_type in _OOXML.items():
                if any(name.startswith(prefix) for name in names):
                    return content_type
        return None
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _OLE.get(filename.rsplit(".", 1)[-1].lower() if "." in filename else "")
    return None


def read_evidence(stream, filename, max_bytes, field="evidence") -> EvidenceUpload:
    """Read an uploaded file and check its size and type; DomainError on ``field``."""
    data = read_bounded(stream, max_bytes, field)
    content_type = sniff_evidence(data, filename or "")
    if content_type is None:
        raise DomainError(_l("Attach a recording (MP3, M4A, WAV, AMR), a photo (JPEG, PNG, GIF, WebP, "
                             "HEIC), a PDF or an Office document."), field=field)
    return EvidenceUpload(data, content_type, _display_name(filename, content_type))


def _display_name(filename, content_type):
    """The original name for display and downloads: no path, no control characters."""
    name = os.path.basename((filename or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?').strip()[:200]
    return name or f"evidence.{EXTENSIONS[content_type]}"


def write_upload(data: bytes) -> str:
    """Write a checked file into the upload folder under a new random name; returns the name."""
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    fd = os.open(folder / stored_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return stored_name


def store_evidence(complaint, upload: EvidenceUpload, by_user) -> ComplaintAttachment:
    """Write the file under a generated name and record it as evidence of ``complaint``."""
    stored_name = write_upload(upload.data)
    attachment = ComplaintAttachment(complaint=complaint, original_name=upload.original_name,
                                     stored_name=stored_name, content_type=upload.content_type,
                                     size=upload.size, sha256=hashlib.sha256(upload.data).hexdigest(),
                                     uploaded_by_id=by_user.id if by_user else None)
    db.session.add(attachment)
    db.session.flush()
    record_event("create", attachment, actor=by_user, detail={
        "complaint": complaint.id, "name": attachment.original_name, "type": attachment.content_type,
        "size": attachment.size, "sha256": attachment.sha256})
    return attachment
