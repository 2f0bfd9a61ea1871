"""The words the improvement pages show for codes (states, root causes, results, steps)."""
from flask_babel import lazy_gettext as _l

PLAN_STATE_LABELS = {"open": _l("Measures under way"), "measures_done": _l("Measures done, effect being checked"),
                     "closed": _l("Closed")}
ROOT_CAUSE_LABELS = {"management": _l("Management"), "operations": _l("Operations"), "service": _l("Service"),
                     "market": _l("Market"), "regulation": _l("Regulation"), "environment": _l("Environment")}
CAUSE_GROUP_LABELS = {"internal": _l("Internal"), "external": _l("External")}
CHECK_RESULT_LABELS = {"effective": _l("Effective"), "not_effective": _l("Not effective")}
STEP_LABELS = {"create": _l("Plan created"), "edit": _l("Edit the plan"), "add_item": _l("Add an item"),
               "remove_item": _l("Remove an item"), "mark_measures_done": _l("Mark the measures done"),
               "record_check": _l("Record a check of the effect"), "close": _l("Close the plan"),
               "revise": _l("Revise the measures"), "check_due": _l("Check fell due (reminder sent)")}
