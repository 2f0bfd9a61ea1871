"""Looking inside rendered PDFs with poppler-utils and Pillow (what a reader would see)."""
import io
import subprocess
import tempfile
from pathlib import Path

from PIL import Image


def _with_file(data, *command):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(data)
        return subprocess.run([*command, str(path)], check=True, capture_output=True, cwd=tmp)


def fonts(data):
    """pdffonts rows as dicts: name, emb (yes/no)."""
    out = _with_file(data, "pdffonts").stdout.decode().splitlines()[2:]
    rows = []
    for line in out:
        cols = line.split()
        # name type... encoding emb sub uni object-id generation
        rows.append({"name": cols[0], "emb": cols[-5]})
    return rows


def embedded_cjk_fonts(data):
    return [f["name"] for f in fonts(data)
            if f["emb"] == "yes" and ("Noto-Sans-CJK" in f["name"] or "Noto-Serif-CJK" in f["name"]
                                      or "NotoSansCJK" in f["name"] or "NotoSerifCJK" in f["name"])]


def text(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(data)
        subprocess.run(["pdftotext", "-layout", str(path), str(Path(tmp) / "doc.txt")], check=True)
        return (Path(tmp) / "doc.txt").read_text(encoding="utf-8")


def page_count(data):
    info = _with_file(data, "pdfinfo").stdout.decode()
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def embedded_files(data):
    """Names of files attached to the PDF (pdfdetach -list)."""
    lines = _with_file(data, "pdfdetach", "-list").stdout.decode().splitlines()
    return [line.split(":", 1)[1].strip() for line in lines[1:] if ":" in line]


def page_image(data, page=1, dpi=60):
    """Page ``page`` rasterized by pdftoppm, as a greyscale Pillow image."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(data)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
                        "-singlefile", str(path), str(Path(tmp) / "page")], check=True)
        png = (Path(tmp) / "page.png").read_bytes()
    return Image.open(io.BytesIO(png)).convert("L")


def dark_share(image, box=None, threshold=128):
    """Share of pixels darker than ``threshold`` inside ``box`` (fractions of the page)."""
    if box is not None:
        w, h = image.size
        image = image.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    histogram = image.histogram()
    return sum(histogram[:threshold]) / (image.size[0] * image.size[1])
