"""The follow-up's state machine as data: which step leads where, and who takes it."""

#: (state, action) -> next state; anything not listed is refused
TRANSITIONS = {
    **{(s, "classify"): s for s in ("open", "contacted", "escalated", "answered", "reopened")},
    ("open", "record_contact"): "contacted",
    ("contacted", "record_contact"): "contacted",
    ("reopened", "record_contact"): "contacted",
    ("answered", "record_contact"): "answered",
    #: routed to a department for action (or to another one); the PM still owns it
    **{(s, "route"): s for s in ("open", "contacted", "escalated", "answered", "reopened")},
    **{(s, "record_cause_and_actions"): s for s in ("open", "contacted", "answered", "reopened")},
    ("open", "escalate"): "escalated",
    ("contacted", "escalate"): "escalated",
    ("reopened", "escalate"): "escalated",
    ("escalated", "answer_escalation"): "answered",
    ("contacted", "resolve"): "resolved",
    ("answered", "resolve"): "resolved",
    ("resolved", "verify"): "closed",
    ("resolved", "reopen"): "reopened",
    ("closed", "reopen"): "reopened",
}
ACTIONS = ("classify", "route", "record_contact", "record_cause_and_actions", "escalate", "answer_escalation",
           "resolve", "verify", "reopen")
#: who takes each step: the owning PM, the executive it was escalated to, or PMO (routing: either)
ACTOR_OF = {"classify": "owner", "route": "owner_or_pmo", "record_contact": "owner", "record_cause_and_actions": "owner",
            "escalate": "owner", "resolve": "owner", "answer_escalation": "escalated_to",
            "verify": "pmo", "reopen": "pmo"}
#: the PM still has work to do in these states (so they can be overdue)
ACTIVE_STATES = ("open", "contacted", "escalated", "answered", "reopened")
