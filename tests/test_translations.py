"""Every user-facing string has a Chinese translation, and the compiled catalog is current."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "portal/translations/zh/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
METHODS = [("portal/**.py", "python"), ("portal/templates/**.html", "jinja2")]


def _searched(dirpath):
    """Babel's default skips every directory starting with "_" or ".", which would leave out
    templates/_macros; skip only hidden ones and caches."""
    name = Path(dirpath).name
    return not name.startswith(".") and name not in ("__pycache__", "node_modules", ".venv")


def _source_messages():
    found = {}
    for fname, _lineno, message, _comments, _ctx in extract_from_dir(
            str(ROOT), METHODS, keywords=KEYWORDS, options_map={"portal/templates/**.html": {}},
            directory_filter=_searched):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, fname)
    return found


def _catalog(path):
    with open(path, "rb") as fh:
        return read_po(fh, locale="zh") if path.suffix == ".po" else read_mo(fh)


def test_every_string_has_a_chinese_translation():
    catalog = _catalog(PO)
    missing = []
    for msgid, fname in _source_messages().items():
        entry = catalog.get(msgid)
        text = entry.string if entry else None
        if isinstance(text, tuple):
            text = text[0]
        if not text or (entry and entry.fuzzy):
            missing.append(f"{fname}: {msgid!r}")
    assert not missing, f"{len(missing)} untranslated strings:\n" + "\n".join(sorted(missing)[:60])


def test_compiled_catalog_matches_the_po_file():
    po, mo = _catalog(PO), _catalog(MO)

    def text(string):  # read_mo gives plural forms as a list, read_po as a tuple
        return tuple(string) if isinstance(string, (list, tuple)) else string

    for entry in po:
        if entry.id and entry.string and not entry.fuzzy:
            compiled = mo.get(entry.id)
            assert compiled is not None and text(compiled.string) == text(entry.string), entry.id
