"""The rollup for any period (DESIGN §4.5, §5), aggregated in the database.

- ``period``: the periods (quarter, month, half-year, year, date range) and how forms are selected;
- ``scores``: the breakdowns' grouped statements (one per breakdown);
- ``stats``: intervals, significance of a change, standings with ties;
- ``context``: rates, coverage, callbacks, complaints, problems, follow-ups, plans, trend;
- ``figures``: the frozen dataclasses everything renders from, and freeze/thaw for publication;
- ``service``: ``rollup(period)``, and ``current_rollup`` kept between writes for the pages.

Import from here; the modules are the layout, not the API.
"""
from .figures import CONFIDENCE, Group, Rollup, Score, freeze, thaw
from .period import Period, parse_period
from .service import current_rollup, rollup
from .stats import standings

__all__ = ["CONFIDENCE", "Group", "Period", "Rollup", "Score", "current_rollup", "freeze", "parse_period", "rollup",
           "standings", "thaw"]
