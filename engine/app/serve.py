"""Service (送达) of an issued notice: a `serve_notice` event on its case, with the signed receipt attached as
evidence (docs/notices.md). Apart from engine/app/notices.py, which the definition registry imports, so that the
registry does not reach the command machinery."""
from __future__ import annotations

from engine.app.notices import service_of
from engine.domain import notices as notice_model
from engine.domain.errors import NotFound


def serve(commands, number: str, *, actor: str | None, by: str, served_at, signed_by: str, now,
          receipt: str | None = None, receipt_name: str | None = None, expected_version: int | None = None):
    """Record the service (送达) of the notice numbered `number`: who served it (`by`), when (`served_at`), who
    signed for it (`signed_by`); with `receipt`, the signed receipt is attached in the same unit as evidence of
    kind `notice` (an `attach` event, engine/app/attach.py) and the `serve` event names its SHA-256.

    Who may record it: a supervisor or the committee whose regions cover the case's region (SERVE_ROLES), for
    any document. A notice is served once: a second service is refused. Returns (case after, the service)."""
    import os

    from engine.app import rulings
    from engine.app.attach import checked_files, files_of, store_files
    from engine.domain import limits
    from engine.domain.clock import iso_seconds
    from engine.domain.errors import InvalidInput, PermissionDenied, Refused
    from engine.domain.preconditions import check_expected, check_time_order
    from engine.store import notices as notice_store

    by = limits.check_text((by or "").strip(), field="by", label="who served it",
                           max_chars=limits.MAX_NAME_CHARS)
    signed_by = limits.check_text((signed_by or "").strip(), field="signed_by", label="who signed for it",
                                  max_chars=limits.MAX_NAME_CHARS)
    if not by:
        raise InvalidInput("who served the notice: give a name", field="by")
    if not signed_by:
        raise InvalidInput("who signed for the notice: give a name", field="signed_by")
    if served_at > now:
        raise InvalidInput(f"served at {iso_seconds(served_at)}: that is after now ({iso_seconds(now)}); a service is recorded "
                           "once it happened", field="at")
    files = files_of(commands._engine) if receipt else None
    with commands.unit() as unit:
        found = notice_store.find(unit.conn, number=number)
        if not found:
            raise NotFound(f"notice {number} not found", kind="notice", key=number)
        row = found[0]
        case, who = unit.case_and_actor(row.case_id, actor)
        what = f"serve {number} on {case.id}"
        rulings._in_region(case, who, what)
        role = next((r for r in who.roles if r in notice_model.SERVE_ROLES), None)
        if role is None:
            raise PermissionDenied(f"{who.name} may not {what}: a notice's service is recorded by "
                                   f"{' or '.join(notice_model.SERVE_ROLES)} over the case's region",
                                   rule="serve", actor=who.name)
        check_expected(case, expected_version)
        rulings.check_not_void(case)
        check_time_order(case, now)
        unit.check_effective(now, what)
        if served_at < row.issued_at:
            raise InvalidInput(f"served at {iso_seconds(served_at)}: that is before {number} was issued "
                               f"({iso_seconds(row.issued_at)})", field="at")
        earlier = service_of(unit.conn, row)
        if earlier:
            raise Refused(f"{number} was already served at {earlier['served_at']} by {earlier['by']} "
                          f"(signed for by {earlier['signed_by']})", case_id=case.id, trigger="serve_notice", rule="served")
        run = unit.run(case.workflow, case.workflow_version)
        served = {"number": number, "kind": row.kind, "by": by, "served_at": iso_seconds(served_at),
                  "signed_by": signed_by}
        if receipt:
            name = receipt_name or os.path.basename(receipt)
            stored = store_files(files, checked_files(unit, [receipt], [name]), "notice", case)
            attached = unit.event(case, trigger="attach", to_state=case.state, actor=who.name, role=role, at=now,
                                  data={"files": stored, "note": f"{number} 送达回执"}, run=run)
            case = unit.append(case, [attached], run)
            served["receipt"] = {"sha256": stored[0]["sha256"], "name": name}
        event = unit.event(case, trigger="serve_notice", to_state=case.state, actor=who.name, role=role, at=now,
                           data={"served": served}, run=run)
        return unit.append(case, [event], run), served

