"""Improvement plans (DESIGN §4.8): follow-ups and complaints with a common cause grouped under a
goal and measures, owned by a department with a responsible person and a due date; once the
measures are done, checks fall due after the settings' days (30, 60, 90), quality records what
each found, and the plan closes only once one found the measures effective (or is revised).

Every step checks who may take it and the version the actor saw, writes an audit event and
tells the responsible person; functions flush, the caller commits. The package, by what each
part does:

- ``rules``: who may take which step, who sees which plan (``can_view``, ``plan_scope``);
- ``steps``: the optimistic lock, the audit event and notifications every step shares;
- ``plans``: creating and editing a plan, its items, the plans an item is in;
- ``effect``: measures done, the checks and their due dates, closing, revising;
- ``reading``: the filtered list with its counts, a plan's timeline;
- ``figures``: the counts and means before/after the measures (until the rollup exists);
- ``reminders``: ``flask improvement-checks``, telling who must check once a check falls due.

Import from here (``from portal.services import improvement``); the modules are the layout, not the API.
"""
from .effect import (
                    check_offsets,
                    close_plan,
                    current_checks,
                    due_checks,
                    due_checks_count,
                    found_effective,
                    is_due,
                    latest_result,
                    mark_measures_done,
                    record_check,
                    revise_plan,
)
from ..departments import in_a_department
from .figures import PlanFigures, plan_figures
from .plans import add_item, create_plan, edit_plan, plans_of_item, remove_item
from .reading import PlanFilters, PlanRow, plan_counts, plans_page, plans_query, timeline_of
from .reminders import remind_due_checks
from .rules import (
                    allowed_steps,
                    can_view,
                    may_check,
                    may_create,
                    may_manage,
                    may_mark_done,
                    may_take,
                    plan_scope,
)
from .steps import ChangedMeanwhile, link_of

__all__ = [
    "check_offsets", "close_plan", "current_checks", "due_checks", "due_checks_count", "found_effective",
    "is_due", "latest_result", "mark_measures_done", "record_check", "revise_plan",
    "PlanFigures", "plan_figures",
    "add_item", "create_plan", "edit_plan", "plans_of_item", "remove_item",
    "PlanFilters", "PlanRow", "plan_counts", "plans_page", "plans_query", "timeline_of",
    "remind_due_checks",
    "allowed_steps", "can_view", "in_a_department", "may_check", "may_create", "may_manage", "may_mark_done",
    "may_take", "plan_scope",
    "ChangedMeanwhile", "link_of",
]
