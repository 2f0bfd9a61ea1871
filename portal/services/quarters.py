"""Calendar quarters: '2026Q4' = October–December 2026 (DESIGN §3)."""
import re
from datetime import date

QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def parse_quarter(quarter: str) -> tuple[int, int]:
    match = QUARTER_RE.match(quarter or "")
    if not match:
        raise ValueError(f"not a quarter: {quarter!r}")
    return int(match.group(1)), int(match.group(2))


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """First and last day of the quarter."""
    year, q = parse_quarter(quarter)
    first = date(year, 3 * q - 2, 1)
    last = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


def shift_quarter(quarter: str, n: int) -> str:
    year, q = parse_quarter(quarter)
    index = year * 4 + (q - 1) + n
    return f"{index // 4}Q{index % 4 + 1}"


def publication_deadline(quarter: str) -> date:
    """The rollup is due by the 30th of the quarter's last month."""
    year, q = parse_quarter(quarter)
    return date(year, 3 * q, 30)
