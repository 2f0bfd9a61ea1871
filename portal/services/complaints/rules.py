"""The complaint's state machine as data: which step leads where, who takes it, and what it
does to the time-limit clocks."""

#: the states in which the case is being handled (contact, pauses and the complex notice fit here)
HANDLING_STATES = ("accepted", "assigned", "investigated", "remedy_proposed", "approved", "reopened")
#: a complaint still open: its clocks may run and its timers be checked
OPEN_STATES = ("registered",) + HANDLING_STATES + ("notified",)

#: (state, action) -> next state; anything not listed is refused
TRANSITIONS = {
    ("registered", "accept"): "accepted",
    ("registered", "judge_invalid"): "invalid",
    ("accepted", "assign"): "assigned",
    ("reopened", "assign"): "assigned",
    **{(s, "record_contact"): s for s in HANDLING_STATES},
    **{(s, "wait_for_complainant"): s for s in HANDLING_STATES},
    **{(s, "complainant_answered"): s for s in HANDLING_STATES},
    **{(s, "mark_complex"): s for s in HANDLING_STATES if s != "approved"},
    ("assigned", "investigate"): "investigated",
    ("investigated", "propose_remedy"): "remedy_proposed",
    ("remedy_proposed", "approve"): "approved",
    ("remedy_proposed", "send_back"): "investigated",  # the approver refuses it: propose another
    ("approved", "notify_client"): "notified",
    ("notified", "close"): "closed",
    ("closed", "reopen"): "reopened",
}
ACTIONS = ("accept", "judge_invalid", "assign", "record_contact", "wait_for_complainant",
           "complainant_answered", "mark_complex", "investigate", "propose_remedy", "approve",
           "send_back", "notify_client", "close", "reopen")

#: who takes each step:
#: ``quality`` the quality desk; ``handler`` the owner or the department's head;
#: ``desk_or_handler`` either (first contact may come before anyone is assigned);
#: ``approver`` an executive, or the department's head up to ``complaints.exec_approval_amount``;
#: ``owner_or_quality`` the owner or the quality desk
ACTOR_OF = {"accept": "quality", "judge_invalid": "quality", "assign": "quality", "reopen": "quality",
            "record_contact": "desk_or_handler", "wait_for_complainant": "desk_or_handler",
            "complainant_answered": "desk_or_handler", "mark_complex": "desk_or_handler",
            "investigate": "handler", "propose_remedy": "handler", "approve": "approver",
            "send_back": "approver",
            "notify_client": "owner_or_quality", "close": "owner_or_quality"}

#: the clock mark each step leaves (record_contact and complainant_answered decide per case)
CLOCK_OF = {"judge_invalid": "stop", "wait_for_complainant": "pause", "notify_client": "stop",
            "reopen": "resume"}
