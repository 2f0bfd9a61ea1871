"""The rollup for any period (DESIGN §4.5, §5)."""
