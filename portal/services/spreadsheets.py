"""Spreadsheet files the portal writes (error lists as CSV, summaries as XLSX): every text cell
goes through ``safe_cell`` so that a value from outside (a ticket's summary, a reporter's name)
never runs as a formula when the file is opened in Excel or WPS."""

#: what makes a spreadsheet read a cell as a formula (or as the start of one)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Text beginning with = + - @, a tab or a carriage return, prefixed with ' (shown as text);
    anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
