"""Translated display labels for stored codes (roles, functions, statuses...)."""
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "pm": _l("Project manager"), "sales": _l("Sales"), "quality": _l("Quality department"),
    "pmo": _l("PMO"), "archive": _l("Archive (admin department)"), "exec": _l("Executive"),
    "admin": _l("Administrator"),
}
CONTACT_FUNCTION_LABELS = {
    "site_admin": _l("Site administrator"), "noc_operator": _l("NOC operator"),
    "ops_leader": _l("Operations leader"), "procurement": _l("Procurement"),
    "construction": _l("Construction / implementation"), "project_lead": _l("Project lead"),
    "department_head": _l("Department head"),
}
PROJECT_STATUS_LABELS = {"active": _l("Active"), "completed": _l("Completed"), "suspended": _l("Suspended")}
AUDIT_LABELS = {
    "login": _l("Signed in"), "login_failed": _l("Failed sign-in"), "logout": _l("Signed out"),
    "access_denied": _l("Access denied"), "create": _l("Created"), "update": _l("Updated"),
    "delete": _l("Deleted"), "password_reset": _l("Password reset"),
    "survey_draft_saved": _l("Client saved a questionnaire draft"),
    "survey_submitted": _l("Client submitted a questionnaire online"),
    "contact_opted_out": _l("Contact opted out of questionnaires"),
    "login_refused": _l("Sign-in refused (too many failures)"),
    "survey_link_invalid": _l("Unknown questionnaire link tried"),
    "survey_language_chosen": _l("Client switched the questionnaire's language"),
    "link_issued": _l("Questionnaire link issued"),
    "message_copied": _l("Message copied and sent by the PM"),
}
CHANNEL_LABELS = {"online": _l("Online"), "paper": _l("Paper"), "phone": _l("Phone"),
                  "visit": _l("Visit"), "email": _l("E-mail"), "on_behalf": _l("Filled on behalf")}
#: the suspicion flags of the verification queue (services.verification.flags)
SUSPICION_FLAG_LABELS = {"fast": _l("Filled in very fast"), "straight_line": _l("Same answer everywhere"),
                         "shared_device": _l("Several contacts, one device"), "on_behalf": _l("Filled in on behalf"),
                         "edited": _l("Corrected after submission")}
VERIFICATION_LABELS = {"pending": _l("Not verified yet"), "authentic": _l("Verified authentic"),
                       "rejected": _l("Rejected")}
TEMPLATE_KIND_LABELS = {"pm_quarterly": _l("PM quarterly questionnaire"),
                        "sales_visit": _l("Sales visit / inquiry"), "callback": _l("Callback record sheet"),
                        "complaint_followup": _l("Complaint follow-up survey")}
QUESTION_TYPE_LABELS = {"scale": _l("Scale"), "choice": _l("Choice"), "text": _l("Free text"),
                        "yes_no": _l("Yes / no")}
DIMENSION_LABELS = {
    "attitude": _l("Service attitude"), "timeliness": _l("Response timeliness"),
    "technical": _l("Technical capability"), "communication": _l("Communication"),
    "resolution": _l("Problem resolution"), "documentation": _l("Documentation"),
    "overall": _l("Overall"),
}
LANGUAGE_LABELS = {"zh": "中文", "en": "English"}
#: a language's own words for "read this questionnaire in it", shown whatever the page's language
LANGUAGE_SWITCH_LABELS = {"zh": "切换到中文版", "en": "Switch to English"}
INVITATION_STATE_LABELS = {
    "not_sent": _l("Not sent"), "sent": _l("Sent"), "opened": _l("Opened"), "draft": _l("Draft saved"),
    "submitted": _l("Submitted"), "overdue": _l("Overdue"), "opted_out": _l("Opted out"),
}
OUTBOX_STATUS_LABELS = {"outbox": _l("Waiting in the outbox (copy it)"), "queued": _l("Waiting to be e-mailed"),
                        "copied": _l("Copied and sent by the PM"), "sent": _l("Sent by e-mail"),
                        "failed": _l("Sending failed")}
MESSAGE_KIND_LABELS = {"invitation": _l("Invitation"), "reminder": _l("Reminder")}
FOLLOWUP_STATE_LABELS = {
    "open": _l("Open, not yet handled"), "contacted": _l("Client contacted"), "escalated": _l("Escalated"),
    "answered": _l("Escalation answered"), "resolved": _l("Resolved, awaiting PMO"),
    "closed": _l("Closed (verified)"), "reopened": _l("Reopened"),
}
#: the badge colour of each state: waiting on the PM, on someone else, done, or back again
FOLLOWUP_STATE_BADGES = {"open": "info", "contacted": "info", "escalated": "warn", "answered": "info",
                         "resolved": "warn", "closed": "ok", "reopened": "bad"}
FOLLOWUP_ACTION_LABELS = {
    "opened": _l("Opened from the response"), "classify": _l("Classify the problem"),
    "route": _l("Route to a department"),
    "record_contact": _l("Record the contact with the client"),
    "record_cause_and_actions": _l("Record cause and actions"), "escalate": _l("Escalate to an executive"),
    "answer_escalation": _l("Answer the escalation"), "resolve": _l("Resolve"),
    "verify": _l("Verify and close"), "reopen": _l("Reopen"),
}
CONTACT_MODE_LABELS = {"phone": _l("Phone"), "visit": _l("Visit"), "email": _l("E-mail"),
                       "message": _l("Message / chat")}

INQUIRY_MODE_LABELS = {"visit": _l("Visit"), "phone": _l("Phone"), "email": _l("E-mail")}
INQUIRY_TRIGGER_LABELS = {"completion": _l("Project completion"), "milestone": _l("Key milestone reached")}

ATTEMPT_OUTCOME_LABELS = {"reached": _l("Reached"), "no_answer": _l("Nobody answered"), "busy": _l("Busy"),
                          "wrong_number": _l("Wrong number"), "refused": _l("Refused")}
TASK_STATE_LABELS = {"open": _l("To be called"), "reached": _l("Called back"),
                     "failed": _l("Replaced by another case")}
IMPORT_STATE_LABELS = {"imported": _l("Imported"), "rejected": _l("Rejected: nothing imported"),
                       "failed": _l("Failed")}
JOB_KIND_LABELS = {"import_cases": _l("Ticket import"), "rollup_report": _l("Satisfaction report (PDF)"),
                   "archive_copies": _l("Archive copies (PDF)")}
ARCHIVE_FLAG_LABELS = {"not_archived": _l("Not handed over"), "archived": _l("Archived"),
                       "retained": _l("Retained"), "eligible": _l("Eligible for disposal"),
                       "hold": _l("On legal hold"), "disposed": _l("Disposed of")}
ARCHIVE_FLAG_BADGES = {"not_archived": "", "archived": "info", "retained": "ok", "eligible": "warn",
                       "hold": "bad", "disposed": ""}
JOB_STATE_LABELS = {"queued": _l("Waiting to start"), "running": _l("Running"), "done": _l("Done"),
                    "failed": _l("Failed"), "interrupted": _l("Interrupted")}
JOB_STAGE_LABELS = {"reading": _l("Reading the file"), "checking": _l("Checking the rows"),
                    "writing": _l("Saving"), "computing": _l("Computing the figures"),
                    "rendering": _l("Laying out the PDF"), "storing": _l("Storing the file")}
COMPLAINT_STATE_LABELS = {
    "registered": _l("Registered, to be checked"), "invalid": _l("Judged invalid"),
    "accepted": _l("Accepted as valid"), "assigned": _l("Assigned"), "investigated": _l("Investigated"),
    "remedy_proposed": _l("Remedy proposed, awaiting approval"), "approved": _l("Remedy approved"),
    "notified": _l("Client told the outcome"), "closed": _l("Closed"), "reopened": _l("Reopened"),
}
COMPLAINT_ACTION_LABELS = {
    "registered": _l("Registered"), "accept": _l("Accept as valid"), "judge_invalid": _l("Judge invalid"),
    "assign": _l("Assign to a department"), "record_contact": _l("Record the contact with the complainant"),
    "wait_for_complainant": _l("Wait for the complainant (pause the clock)"),
    "complainant_answered": _l("The complainant answered"),
    "mark_complex": _l("Mark complex (complainant told)"), "investigate": _l("Record the investigation"),
    "propose_remedy": _l("Propose a remedy"), "approve": _l("Approve the remedy"),
    "send_back": _l("Send the remedy back"), "notify_client": _l("Tell the client the outcome"),
    "close": _l("Close"), "reopen": _l("Reopen"),
    "timer_warning": _l("Time limit warning"), "timer_breach": _l("Time limit exceeded"),
    "check_answered": _l("Check on the handling answered"),
}
#: how the check on a closed complaint's handling is taken
SURVEY_MODE_LABELS = {"link": _l("Link e-mailed to the complainant"), "callback": _l("Call by the quality desk")}
COMPLAINT_CHANNEL_LABELS = {
    "phone": _l("Phone"), "email": _l("E-mail"), "chat": _l("Online chat"), "social": _l("Social media"),
    "letter": _l("Letter"), "in_person": _l("In person"), "survey": _l("Survey answer"),
    "callback": _l("Callback"), "web_form": _l("Public complaint form"),
}
REMEDY_KIND_LABELS = {"apology": _l("Apology"), "compensation": _l("Compensation"), "rework": _l("Rework"),
                      "penalty": _l("Internal penalty")}
CLOCK_STATE_LABELS = {"running": _l("Running"), "paused": _l("Paused (waiting for the complainant)"),
                      "met": _l("Within the limit"), "breached": _l("Overdue"),
                      "unknown": _l("Calendar unknown")}

#: a rollup group's confidence (services.rollup.figures.CONFIDENCE): badge text and its colour
CONFIDENCE_LABELS = {"ok": _l("Enough responses"), "low": _l("Low confidence"), "too_few": _l("Too few to judge")}
CONFIDENCE_BADGES = {"ok": "ok", "low": "warn", "too_few": "bad"}
#: where a point of a rollup's trend comes from
TREND_SOURCE_LABELS = {"portal": _l("Portal"), "imported": _l("Imported"), "published": _l("Published")}


def setting_labels(key, locale=None) -> dict:
    """{code: name in ``locale`` (default: the current one)} of a list setting, e.g.
    ``problems.directions``; for templates showing stored codes of such a list."""
    from flask_babel import get_locale
    from .services.settings import setting_choices
    return dict(setting_choices(key, locale or str(get_locale() or "zh")))


def template_globals():
    return {
        "role_labels": ROLE_LABELS, "contact_function_labels": CONTACT_FUNCTION_LABELS,
        "project_status_labels": PROJECT_STATUS_LABELS, "audit_labels": AUDIT_LABELS,
        "channel_labels": CHANNEL_LABELS, "verification_labels": VERIFICATION_LABELS,
        "suspicion_flag_labels": SUSPICION_FLAG_LABELS,
        "template_kind_labels": TEMPLATE_KIND_LABELS, "question_type_labels": QUESTION_TYPE_LABELS,
        "dimension_labels": DIMENSION_LABELS, "language_labels": LANGUAGE_LABELS,
        "language_switch_labels": LANGUAGE_SWITCH_LABELS,
        "invitation_state_labels": INVITATION_STATE_LABELS, "outbox_status_labels": OUTBOX_STATUS_LABELS,
        "message_kind_labels": MESSAGE_KIND_LABELS,
        "followup_state_labels": FOLLOWUP_STATE_LABELS, "followup_state_badges": FOLLOWUP_STATE_BADGES, "followup_action_labels": FOLLOWUP_ACTION_LABELS,
        "contact_mode_labels": CONTACT_MODE_LABELS,
        "inquiry_mode_labels": INQUIRY_MODE_LABELS, "inquiry_trigger_labels": INQUIRY_TRIGGER_LABELS,
        "archive_flag_labels": ARCHIVE_FLAG_LABELS, "archive_flag_badges": ARCHIVE_FLAG_BADGES,
        "job_kind_labels": JOB_KIND_LABELS, "job_state_labels": JOB_STATE_LABELS,
        "job_stage_labels": JOB_STAGE_LABELS, "import_state_labels": IMPORT_STATE_LABELS,
        "complaint_state_labels": COMPLAINT_STATE_LABELS,
        "complaint_action_labels": COMPLAINT_ACTION_LABELS,
        "survey_mode_labels": SURVEY_MODE_LABELS,
        "complaint_channel_labels": COMPLAINT_CHANNEL_LABELS,
        "remedy_kind_labels": REMEDY_KIND_LABELS,
        "clock_state_labels": CLOCK_STATE_LABELS,
        "attempt_outcome_labels": ATTEMPT_OUTCOME_LABELS, "task_state_labels": TASK_STATE_LABELS,
        "confidence_labels": CONFIDENCE_LABELS, "confidence_badges": CONFIDENCE_BADGES,
        "trend_source_labels": TREND_SOURCE_LABELS, "setting_labels": setting_labels,
        "improvement_plan_state_labels": _plan_state_labels(),
    }


def _plan_state_labels():
    from .blueprints.improvement.labels import PLAN_STATE_LABELS
    return PLAN_STATE_LABELS
