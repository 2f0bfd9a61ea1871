"""submit_response: one response per invitation, scores stored, hook fired, version frozen."""
import pytest

from portal.models import Response
from portal.services.answers import parse_answers
from portal.services.hooks import response_submitted
from portal.services.responses import submit_response


def test_submit_stores_normalized_answers_and_freezes_version(make, db):
    version = make.template_version()
    project = make.project()
    parsed = parse_answers(version, {"q_attitude": "5", "q_timeliness": "na", "q_technical": "1",
                                     "q_opinion": "工程师很专业"}, complete=True)
    assert parsed.ok, parsed.errors
    received = []
    with response_submitted.connected_to(lambda r, **_: received.append(r.id)):
        response = submit_response(version, parsed, channel="paper", project=project)
    db.session.commit()
    stored = db.session.get(Response, response.id)
    by_code = {a.question.code: a for a in stored.answers}
    assert by_code["attitude"].normalized == 5
    assert by_code["timeliness"].is_na and by_code["timeliness"].normalized is None
    assert by_code["technical"].normalized == 1
    assert stored.score == pytest.approx(3.0)  # N/A left out: (5 + 1) / 2
    assert stored.comment == "工程师很专业"
    assert version.frozen_at is not None
    assert received == [response.id]


def test_required_missing_is_an_error_but_not_in_a_draft(make):
    version = make.template_version()
    assert "attitude" in parse_answers(version, {}, complete=True).errors
    assert parse_answers(version, {}, complete=False).ok


def test_value_outside_the_scale_is_rejected(make):
    version = make.template_version()
    parsed = parse_answers(version, {"q_attitude": "7"}, complete=False)
    assert "attitude" in parsed.errors


def test_a_line_break_counts_as_one_character_as_the_browser_counts_it(make):
    from portal.services.answers import TEXT_LIMIT
    version = make.template_version()
    text = ("一" * 9 + "\r\n") * (TEXT_LIMIT // 10)  # what a browser sends: exactly the limit it counted
    assert len(text.replace("\r\n", "\n")) == TEXT_LIMIT
    parsed = parse_answers(version, {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8",
                                     "q_opinion": text}, complete=True)
    assert parsed.ok, parsed.errors
    assert "\r" not in parsed.values["opinion"].text_value


def test_the_hook_sees_the_stored_scan_and_audit_event_and_can_abort(make, db):
    """response_submitted fires last, inside the transaction: the scan and the audit event are
    there already, and a receiver that raises leaves nothing behind."""
    from sqlalchemy import select

    from portal.models import Attachment, AuditEvent
    from portal.services.uploads import ScanUpload
    version = make.template_version()
    project = make.project()
    parsed = parse_answers(version, {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8"},
                           complete=True)
    scan = ScanUpload(data=b"%PDF-1.4 x", content_type="application/pdf", original_name="scan.pdf")
    seen = []

    def receiver(response, **_):
        seen.append((len(response.attachments),
                     db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_id == str(response.id),
                                                                       AuditEvent.object_type == "Response"))))

    with response_submitted.connected_to(receiver):
        submit_response(version, parsed, channel="paper", project=project, scan=scan,
                        audit_action="paper_entered")
    db.session.commit()
    assert seen == [(1, "paper_entered")]

    def refuse(response, **_):
        raise RuntimeError("a follow-up could not be opened")

    with response_submitted.connected_to(refuse), pytest.raises(RuntimeError):
        submit_response(version, parsed, channel="paper", project=project)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(Response.id))) == 1
    assert db.session.scalar(select(db.func.count(Attachment.id))) == 1
