"""The check on a closed complaint's handling, answered through its own link (filled in later)."""
