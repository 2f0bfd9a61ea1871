"""Complaints from any channel (DESIGN §4.7): intake, the handling workflow, time limits.

Every step goes through ``apply``, driven by one table ``TRANSITIONS``; each step checks who may
take it and the version the actor saw, writes a timeline event with its clock mark and an audit
event, and tells whoever acts next. The clocks are derived from those events alone. Functions
flush; the caller commits.

The package, by what each part does:

- ``rules``: the state machine as data (``TRANSITIONS``, ``ACTIONS``, ``ACTOR_OF``, ``CLOCK_OF``);
- ``intake``: registering a complaint (any channel, the public form too) and turning a response into one;
- ``evidence``: checking and storing evidence files;
- ``workflow``: ``apply`` and its steps, who may take them, who sees which complaint;
- ``clock``: working hours in the portal's calendar and the two clocks of a complaint;
- ``alerts``: the 50 % / 75 % warnings and the breach alerts;
- ``messages``: what the complainant is sent (through the outbox);
- ``handling_check``: the check on a closed complaint's handling, by link or by the desk's call;
- ``report``: the monthly report, the share handled within each limit.

Import from here (``from portal.services import complaints``); the modules are the layout, not the API.
"""
from .alerts import check_timers
from .clock import Clock, Clocks, WorkingHours, add_working_hours, clocks, local_time, working_hours_between
from .evidence import EvidenceUpload, read_evidence, sniff_evidence, store_evidence
from .handling_check import (
                    CheckLinkInvalid,
                    calls_waiting,
                    check_for_session,
                    check_versions,
                    default_mode,
                    find_valid_check,
                    latest_check,
                    may_call,
                    record_check_call,
                    submit_check_online,
)
from .intake import (
                    complaint_from_response,
                    complaint_of_response,
                    first_contact_deadline,
                    next_reference,
                    register_complaint,
)
from .messages import link_of
from .report import LimitShare, MonthlyReport, last_month, monthly_report, monthly_report_xlsx, parse_month
from .rules import ACTIONS, ACTOR_OF, CLOCK_OF, HANDLING_STATES, OPEN_STATES, TRANSITIONS
from .workflow import (
                    ChangedMeanwhile,
                    allowed_actions,
                    apply,
                    can_view,
                    complaint_scope,
                    may_act,
                    needs_exec,
                    state_label,
)

__all__ = [
    "check_timers",
    "Clock", "Clocks", "WorkingHours", "add_working_hours", "clocks", "local_time", "working_hours_between",
    "EvidenceUpload", "read_evidence", "sniff_evidence", "store_evidence",
    "complaint_from_response", "complaint_of_response", "first_contact_deadline", "next_reference",
    "register_complaint", "link_of",
    "CheckLinkInvalid", "calls_waiting", "check_for_session", "check_versions", "default_mode",
    "find_valid_check", "latest_check", "may_call", "record_check_call", "submit_check_online",
    "LimitShare", "MonthlyReport", "last_month", "monthly_report", "monthly_report_xlsx", "parse_month",
    "ACTIONS", "ACTOR_OF", "CLOCK_OF", "HANDLING_STATES", "OPEN_STATES", "TRANSITIONS",
    "ChangedMeanwhile", "allowed_actions", "apply", "can_view", "complaint_scope", "may_act", "needs_exec",
    "state_label",
]
