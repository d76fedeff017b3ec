"""The case file (案卷) an inspector archives or prints: the dossier's data, as JSON and as one HTML page.

The HTML is self-contained (inline CSS from `dossier.html`, no scripts, fonts or images fetched), in
Chinese with English beside it, and prints on A4. Everything in it comes from the events (the timeline, the
signatures, the trace) except the case row's head, which the chain check compares with the log. The hash
of the last event is printed in full: written down or archived, it anchors the whole history, since no
earlier event can change without changing it.
"""
from __future__ import annotations

import json
from datetime import datetime
from html import escape
from importlib import resources
from string import Template

from engine.domain import regions, vocabularies
from engine.domain.accountability import CaseFile, trace
from engine.domain.case import FIVE_IMPLEMENTATIONS
from engine.domain.clock import local
from engine.domain.documents import decisions_document, shown_trace
from engine.domain.events import verify_chain
from engine.domain.evidence import evidence_document
from engine.domain.replay import InconsistentLog, RungView, fired_rungs, open_rungs, replay

CLAIM_FIELDS = ("claimed_stage", "claimed_at", "claimed_by")  # engine/ledger/history.py: a ledger's unconfirmed claim
SHIPPED_WORDS = "engine/ledger/headers.yaml"  # the words a sheet is read with when no --mapping is given

# The five implementations' labels where a definition gives none (the names are engine.domain.case's).
FIVE_LABELS = {"responsible_unit": "责任单位", "responsible_person": "责任人", "measures": "整改措施",
               "funds": "整改资金", "deadline": "整改时限", "emergency_plan": "应急预案"}
CASE_LABELS = {"title": "隐患内容", "enterprise": "企业", "region": "行政区划", "industry": "行业",
               "level": "隐患等级", "source": "发现方式", "found_at": "发现时间", "parent_id": "上级案件"}
DETAIL_LABELS = {"extension.clock": "延期计时", "extension.previous": "原时限", "extension.until": "新时限",
                 "extension.reason": "延期理由", "escalation.rung": "督办阶梯", "escalation.action": "措施",
                 "escalation.status": "结果", "escalation.due_at": "应触发", "escalation.late_seconds": "延迟(秒)",
                 "escalation.linked_case": "关联案件", "escalation.flags": "标记", "escalation.clock": "计时", "escalation.label": "名称", "escalation.level": "预警级别",
                 "escalation.kind_label": "通报类型",
                 "escalation.cycle": "周期", "migration.from_version": "原版本", "migration.to_version": "新版本",
                 "migration.map": "状态映射", "escalation.decided_by": "决定人角色", "escalation.reason": "说明",
                 "extension.application": "延期申请", "extension.decide_by": "应决定日期",
                 "decision.rung": "事项", "decision.label": "名称", "decision.action": "措施", "decision.decision": "决定",
                 "decision.reason": "理由", "decision.until": "延期至", "decision.flags": "标记",
                 "decision.linked_case": "关联案件", "correction.changes": "更正内容", "correction.reason": "更正理由",
                 "void.reason": "作废理由"}
RUNG_STATUS = {"fired": "已触发", "skipped": "已跳过", "pending": "待到期", "due": "已到期未触发",
               "paused": "暂停", "cancelled": "已撤销", "proposed": "待决定", "approved": "已批准",
               "declined": "未批准", "lapsed": "已失效"}
DECISION_STATUS = {"proposed": "待决定", "approved": "已批准", "declined": "未批准", "lapsed": "已失效"}


def dossier_data(found: CaseFile, *, generated_at: datetime) -> dict:
    """The dossier as one JSON-ready document (instants stay datetimes until encoded)."""
    stored, log = found.stored, found.log
    definition = found.definition_for(stored.workflow, stored.workflow_version)
    responsibility = shown_trace(trace(log, found.definition_for, until=generated_at))  # signed times in +08:00
    labels = {**{f.name: f.label for f in definition.fields}, **CASE_LABELS}
    state = definition.state(stored.state)
    return {
        "dossier": {"generated_at": generated_at, "generator": "hazard-closure"},
        "case": {"id": stored.id, "title": stored.title, "workflow": stored.workflow,
                 "workflow_title": definition.title, "workflow_version": stored.workflow_version,
                 "state": stored.state, "state_label": state.label if state else "", "final": stored.is_final,
                 "level": stored.level, "enterprise": stored.enterprise, "region": stored.region,
                 "industry": stored.industry, "source": stored.source, "found_at": stored.found_at,
                 "created_at": stored.created_at, "closed_at": stored.closed_at, "deadline": stored.deadline,
                 "parent_id": stored.parent_id, "flags": list(stored.flags),
                 "voided_at": stored.voided_at, "accepted_at": stored.accepted_at},
        # An imported case: where it came from (file, sheet, row, the file's SHA-256 and, when the sheet was read
        # with --mapping, that file's name and SHA-256), as sealed in its first event.
        "import": (log[0].data or {}).get("import") if log else None,
        # What the sheet said beyond the steps its importer could take (engine/ledger/history.py), for a department
        # to confirm: the stage, its date, 复查人; None when the case carries no such claim.
        "claim": {name: stored.fields[name] for name in CLAIM_FIELDS if stored.fields.get(name)} or None,
        "decisions": decisions_document(stored),
        "field_labels": labels,
        # Only where they apply (a major hazard): an interview's dossier has no five implementations to miss.
        "five_implementations": [{"field": name, "label": labels.get(name) or FIVE_LABELS[name],
                                  "value": stored.fields.get(name), "missing": name in stored.missing_implementations}
                                 for name in FIVE_IMPLEMENTATIONS] if stored.owes_implementations else [],
        "missing_implementations": stored.missing_implementations,
        "timeline": responsibility["actions"],
        "signatures": [_signature(a) for a in responsibility["actions"] if a["role"] != "system"],
        "rungs": [_rung(r, {x.name: x.label for x in definition.rungs}) for r in _rungs(found, generated_at)],
        "linked": [_linked(case, events, found) for case, events in found.linked],
        "responsibility": {k: responsibility[k] for k in ("holding", "held_for", "missed", "people")},
        # The numbered notices (文书) the case's steps issued, with their service (送达).
        "notices": responsibility["notices"],
        "chain": _chain(stored, log),
        # The files sealed on the case (engine.domain.evidence.evidence_document); the auditor adds to each photo
        # its thumbnail (`thumbnail`, a data: URI) or that the stored file is missing (`stored: false`).
        "evidence": evidence_document(log),
    }


def _rungs(found: CaseFile, now: datetime) -> list[RungView]:
    try:
        view = replay(found.log, found.definition_for) or found.stored
    except InconsistentLog:
        view = found.stored  # the chain section says what is wrong; the rungs still show as stored
    definition = found.definition_for(view.workflow, view.workflow_version)
    return fired_rungs(found.log, decisions=view.decisions) + open_rungs(view, definition, found.calendar, as_of=now)


def _rung(r: RungView, labels: dict) -> dict:
    return {"clock": r.clock, "cycle": r.cycle, "rung": r.rung, "label": labels.get(r.rung) or "",
            "action": r.action, "status": r.status,
            "due_at": r.due_at, "at": r.at, "provisional": r.provisional, "late_seconds": r.late_seconds,
            "linked_case": r.linked_case}


def _signature(action: dict) -> dict:
    return {k: action[k] for k in ("seq", "actor", "role", "trigger", "label", "at", "recorded_at", "signed", "hash")}


def _chain(case, log) -> dict:
    breaks = list(verify_chain(log, head=(case.version, case.last_hash)))
    return {"verified": not breaks, "events": len(log), "last_hash": log[-1].hash if log else None,
            "head_hash": case.last_hash, "breaks": [{"case_id": b.case_id, "seq": b.seq, "problem": b.problem}
                                                    for b in breaks]}


def _linked(case, events, found: CaseFile) -> dict:
    definition = found.definition_for(case.workflow, case.workflow_version)
    state = definition.state(case.state)
    actions = trace(events, found.definition_for, until=max(e.at for e in events))["actions"] if events else []
    return {"id": case.id, "workflow": case.workflow, "workflow_title": definition.title, "title": case.title,
            "state": case.state, "state_label": state.label if state else "", "final": case.is_final,
            "created_at": case.created_at, "closed_at": case.closed_at, "deadline": case.deadline,
            "fields": dict(case.fields), "field_labels": {**{f.name: f.label for f in definition.fields}, **CASE_LABELS},
            "timeline": actions, "chain": _chain(case, events)}


# -- encodings ------------------------------------------------------------------------------------------------
def to_json(data: dict) -> str:
    from engine.domain.documents import json_default
    return json.dumps(data, ensure_ascii=False, indent=2, default=json_default)


def to_html(data: dict) -> str:
    template = Template(resources.files("engine.domain").joinpath("dossier.html").read_text(encoding="utf-8"))
    case = data["case"]
    body = "\n".join([_header(data), _details(data), _five(data), _evidence(data), _decisions(data), _timeline(data),
                      _rungs_section(data), _linked_section(data), _notices_section(data), _responsibility(data),
                      _signatures(data), _integrity(data),
                      _footer(data)])
    return template.substitute(page_title=escape(f"{case['id']} {case['title']} · 隐患案卷"), body=body)


def _t(value) -> str:
    """An instant as Shanghai local time, to the minute."""
    return local(value).strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else escape(str(value or "—"))


def _e(value) -> str:
    return escape("—" if value in (None, "") else str(value))


def _heading(zh: str, en: str) -> str:
    return f"<h2>{zh} <small>{en}</small></h2>"


def _role(role: str) -> str:
    return f"{escape(vocabularies.label_of('roles', role))} <span class='en'>{escape(role)}</span>"


def _table(head: list[tuple[str, str]], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f"<p class='empty'>{empty}</p>"
    ths = "".join(f"<th>{zh}<br><small>{en}</small></th>" for zh, en in head)
    trs = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table>"


# Signed values that are words of a vocabulary: shown with their labels (engine/domain/data/vocabulary.yaml).
_ENUMERATED = {"level": "level", "source": "source", "escalation.action": "actions", "escalation.flags": "flags",
               "escalation.level": "warnings", "action": "actions"}


def _word(kind: str, value) -> str:
    """An enumerated value (or a list of them) as its label with the stored word beside it."""
    if isinstance(value, list):
        return "、".join(_word(kind, v) for v in value)
    label = vocabularies.label_of(kind, value)
    return _e(value) if label == str(value) else f"{_e(label)} <span class='en'>{_e(value)}</span>"


def _signed(signed: dict, labels: dict) -> str:
    if not signed:
        return "<span class='muted'>—</span>"
    items = "".join(f"<li><span>{escape(labels.get(k) or DETAIL_LABELS.get(k) or k)}:</span> "
                    f"{_word(_ENUMERATED[k], v) if k in _ENUMERATED else _value(v)}</li>"
                    for k, v in signed.items())
    return f"<ul class='signed'>{items}</ul>"


def _value(value) -> str:
    """A signed value; ISO instants (found_at, due_at) are shown in Shanghai time like every other time here."""
    if isinstance(value, str) and len(value) > 10 and value[10:11] == "T":
        try:
            return _t(datetime.fromisoformat(value))
        except ValueError:
            pass
    if isinstance(value, dict):
        return _e(", ".join(f"{k} → {v}" for k, v in value.items()))
    if isinstance(value, list):
        return _e(", ".join(str(v) for v in value))
    return _e(value)


def _header(data: dict) -> str:
    case, chain = data["case"], data["chain"]
    verdict = ("<span class='badge ok'>✓ 哈希链校验通过 chain verified</span>" if chain["verified"]
               else "<span class='badge bad'>✗ 哈希链校验失败 chain broken</span>")
    state = f"<span class='badge {'ok' if case['final'] else 'warn'}'>{_e(case['state_label'] or case['state'])} " \
            f"{_e(case['state'])}</span>"
    return (f"<header><div class='kicker'>{_e(case['workflow_title'])} · 隐患治理案卷 HAZARD CASE DOSSIER</div>"
            f"<h1>{_e(case['title'])}</h1><div class='meta'><span>案件编号 Case <b>{_e(case['id'])}</b></span>"
            f"<span>{state}</span><span>{verdict}</span>"
            f"<span>生成时间 Generated <b>{_t(data['dossier']['generated_at'])}</b> (北京时间)</span></div></header>")


def _details(data: dict) -> str:
    case = data["case"]
    rows = [("隐患内容", "Title", _e(case["title"])), ("企业", "Enterprise", _e(case["enterprise"])),
            ("行政区划", "Region", _e(regions.code_and_name(case["region"]))), ("行业", "Industry", _e(case["industry"])),
            ("隐患等级", "Level", _word("level", case["level"])),
            ("发现方式", "Source", _word("source", case["source"])),
            ("发现时间", "Found", _t(case["found_at"])),
            ("上报时间", "Reported", _t(case["created_at"])), ("销号时间", "Closed", _t(case["closed_at"])),
            ("整改时限", "Deadline", _e(case["deadline"])
             + (f" <small>(原时限 original {_e(data['decisions']['original_deadline'])})</small>"
                if data["decisions"]["original_deadline"] not in (None, case["deadline"]) else "")),
            ("流程", "Workflow", f"{_e(case['workflow_title'])} <code>{_e(case['workflow'])} v{case['workflow_version']}</code>")]
    if case["parent_id"]:
        rows.append(("上级案件", "Parent case", _e(case["parent_id"])))
    if data.get("import"):
        rows.append(("导入来源", "Imported from", _imported(data["import"])))
    if data.get("claim"):
        claim = data["claim"]
        said = "，".join(part for part in (_e(claim.get("claimed_stage")),
                                          _e(claim["claimed_at"]) if claim.get("claimed_at") else "",
                                          f"复查人 {_e(claim['claimed_by'])}" if claim.get("claimed_by") else "") if part)
        rows.append(("台账所报（待确认）", "Ledger's claim, unconfirmed",
                     f"{said} <small class='muted'>导入人无权办理的步骤未记录 steps the importer may not take were not "
                     f"recorded</small>"))
    if case["flags"]:
        rows.append(("标记", "Flags", _word("flags", case["flags"])))
    if case["voided_at"]:
        rows.insert(0, ("已作废", "Voided", f"<span class='bad'>{_t(case['voided_at'])}: 不计入任何统计、清单与督办 "
                                           "counted in no figure, list or ladder</span>"))
    body = "".join(f"<tr><th>{zh} <small>{en}</small></th><td>{value}</td></tr>" for zh, en, value in rows)
    return f"<section>{_heading('基本信息', 'Case details')}<table class='kv'>{body}</table></section>"


def _imported(source: dict) -> str:
    """Where an imported case came from, as sealed in its events: the sheet and its row and SHA-256, and the words
    it was read with (the --mapping file and its SHA-256, else the shipped ones)."""
    where = _e(source.get("file")) + (f" · {_e(source['sheet'])}" if source.get("sheet") else "") \
        + f" · 第 {_e(source.get('row'))} 行 row"
    mapping = source.get("mapping")
    words = (f"映射文件 mapping <code>{_e(mapping.get('file'))}</code> SHA-256 <code class='hash'>"
             f"{_e(mapping.get('sha256'))}</code>") if isinstance(mapping, dict) else \
        f"映射 words <code>{SHIPPED_WORDS}</code> (无 --mapping)"
    return f"{where}<br>SHA-256 <code class='hash'>{_e(source.get('sha256'))}</code><br>{words}"


def _five(data: dict) -> str:
    if not data["five_implementations"]:
        return ""  # they do not apply to this case

    def value(item: dict) -> str:
        return "<span class='missing'>缺 missing</span>" if item.get("missing") else _e(item["value"])
    body = "".join(f"<tr><th>{_e(item['label'])} <small>{_e(item['field'])}</small></th><td>{value(item)}</td></tr>"
                   for item in data["five_implementations"])
    missing = [item["label"] for item in data["five_implementations"] if item.get("missing")]
    note = f"<p class='missing'>未落实：{_e('、'.join(missing))}</p>" if missing else ""
    return f"<section>{_heading('五落实', 'Five implementations')}{note}<table class='kv'>{body}</table></section>"


def _evidence(data: dict) -> str:
    """The files sealed on the case, with their full SHA-256; a photo's thumbnail (made from the stored file when
    the dossier was written), what it says of itself beside the upload time, and the flag of a rectification
    photo taken before the hazard was found; a file no longer in the store shown as missing."""
    rows = []
    for e in data.get("evidence") or ():
        if e.get("stored") is False:
            picture = "<span class='missing'>文件缺失 missing from the store</span>"
        elif e.get("thumbnail"):
            picture = f"<img class='thumb' src='{escape(e['thumbnail'], quote=True)}' alt='{_e(e['name'])}'>"
        else:
            picture = "<span class='muted'>—</span>"
        said = []
        if e.get("taken_at"):
            said.append(f"拍摄 taken {_e(e['taken_at'].replace('T', ' ')[:16])}")
        if e.get("device"):
            said.append(f"设备 device {_e(e['device'])}")
        if e.get("gps"):
            said.append(f"位置 GPS {_e(', '.join(str(x) for x in e['gps']))}")
        flag = ("<br><span class='bad'>⚠ 拍摄早于隐患发现时间 taken before the hazard was found</span>"
                if e.get("taken_before_found") else "")
        rows.append([picture, f"{_word('evidence', e['kind'])}",
                     f"{_e(e['name'])}<br><small class='muted'>{_e(e['media_type'])} · {e['size']:,} B</small>"
                     + (f"<br><small>{_e(e['note'])}</small>" if e.get("note") else ""),
                     f"<span class='nowrap'>{_t_text(e['attached_at'])}</span><br>{_e(e['by'])}",
                     ("<br>".join(said) or "<span class='muted'>—</span>") + flag,
                     f"<span class='hash'>{_e(e['sha256'])}</span>"])
    head = [("图像", "Photo"), ("类别", "Kind"), ("文件", "File"), ("上传", "Attached"), ("照片信息", "Photo says"),
            ("SHA-256", "Sealed hash")]
    return f"<section>{_heading('证据材料', 'Evidence')}{_table(head, rows, '无 None')}</section>"


def _decisions(data: dict) -> str:
    """What the ladder proposed and who decided it, and every extension applied for, with the decision."""
    d = data["decisions"]
    proposals = [[f"{_e(p.get('label') or p['rung'])}<br><small class='muted'>{_e(p['rung'])}</small>",
                  _word("actions", p.get("action")), _t_text(p["proposed_at"]),
                  f"{_e(DECISION_STATUS.get(p['status'], p['status']))} <small>{_e(p['status'])}</small>",
                  _e(p.get("by")), _t_text(p.get("at")), _e(p.get("reason")), _e(p.get("linked_case"))]
                 for p in d["proposals"]]
    extensions = [[_e(x.get("previous")), _e(x.get("until")), _e(x.get("applied_by")), _t_text(x.get("applied_at")),
                   _e(x.get("reason")), f"{_e(DECISION_STATUS.get(x.get('status'), x.get('status') or '待决定'))}",
                   _e(x.get("by")), _t_text(x.get("at")), _e(x.get("decision_reason"))]
                  for x in d["extensions"] + ([d["extension_application"]] if d["extension_application"] else [])]
    return ("<section>" + _heading("处置决定", "Decisions")
            + _table([("事项", "Rung"), ("措施", "Action"), ("提议时间", "Proposed"), ("决定", "Decision"),
                      ("决定人", "By"), ("决定时间", "At"), ("理由", "Reason"), ("关联案件", "Linked case")],
                     proposals, "无待决定或已决定的处置 No sanction proposed")
            + _table([("原时限", "From"), ("申请延至", "Until"), ("申请人", "Applied by"), ("申请时间", "Applied"),
                      ("申请理由", "Reason"), ("决定", "Decision"), ("决定人", "By"), ("决定时间", "At"),
                      ("决定理由", "Decision reason")], extensions, "无延期 No extension")
            + "</section>")


def _t_text(value) -> str:
    """An ISO instant kept as text in the case's decisions, shown like every other time here."""
    return _t(datetime.fromisoformat(value)) if isinstance(value, str) and "T" in value else _e(value)


def _action_rows(actions: list[dict], labels: dict) -> list[list[str]]:
    rows = []
    for a in actions:
        change = f"{_e(a['to_label'] or a['to'])}<br><small class='muted'>" + (
            _e(a["to"]) if a["from"] in (None, a["to"]) else f"{_e(a['from'])} → {_e(a['to'])}") + "</small>"
        detail = dict(a["signed"])
        for key in ("extension", "escalation", "migration", "decision", "correction", "void", "notification"):
            detail.update({f"{key}.{k}": v for k, v in (a.get(key) or {}).items() if v not in (None, "")})
        rows.append([str(a["seq"]), f"<span class='nowrap'>{_t(a['at'])}</span><br>"
                                    f"<small class='muted nowrap'>记录 {_t(a['recorded_at'])}</small>",
                     f"{_e(a['label'])}<br><code>{_e(a['trigger'])}</code>",
                     f"{_e(a['actor'])}<br>{_role(a['role'])}", change, _signed(detail, labels),
                     f"<span class='hash'>{_e(a['hash'][:12])}</span>"])
    return rows


_ACTION_HEAD = [("序号", "Seq"), ("生效时间", "Effective / recorded"), ("操作", "Action"), ("操作人", "Actor"),
                ("状态", "State"), ("签署内容", "Signed"), ("哈希", "Hash")]


def _timeline(data: dict) -> str:
    return f"<section>{_heading('办理过程', 'Timeline')}" \
           f"{_table(_ACTION_HEAD, _action_rows(data['timeline'], data['field_labels']), '无记录 No events')}</section>"


def _rungs_section(data: dict) -> str:
    rows = [[f"{_e(r['label'] or r['rung'])}<br><small class='muted'>{_e(r['rung'])}</small>", _word("actions", r["action"]), f"{_e(r['clock'])} #{r['cycle']}",
             f"<span class='{'bad' if r['status'] in ('fired', 'due') else 'muted'}'>{_e(RUNG_STATUS.get(r['status'], r['status']))}"
             f"</span> <small>{_e(r['status'])}</small>", _t(r["due_at"]) + (" (暂定 provisional)" if r["provisional"] else ""),
             _t(r["at"]), _e(r["linked_case"])] for r in data["rungs"]]
    head = [("阶梯", "Rung"), ("措施", "Action"), ("计时", "Clock"), ("状态", "Status"), ("到期", "Due"),
            ("触发时间", "Fired"), ("关联案件", "Linked case")]
    return f"<section>{_heading('督办升级', 'Escalation rungs')}{_table(head, rows, '无 None')}</section>"


def _linked_section(data: dict) -> str:
    parts = [_heading("关联约谈与挂牌督办", "Linked interviews and posted supervision")]
    if not data["linked"]:
        parts.append("<p class='empty'>无 None</p>")
    for item in data["linked"]:
        verdict = "<span class='ok'>✓</span>" if item["chain"]["verified"] else "<span class='bad'>✗ 校验失败</span>"
        parts.append(f"<h3>{_e(item['workflow_title'])} {_e(item['id'])} · {_e(item['state_label'] or item['state'])} "
                     f"<small class='muted'>{_e(item['state'])}</small> {verdict}</h3>")
        parts.append(_table(_ACTION_HEAD, _action_rows(item["timeline"], item["field_labels"]), "无记录 No events"))
    return "<section>" + "".join(parts) + "</section>"


def _notices_section(data: dict) -> str:
    rows = []
    for n in data.get("notices") or []:
        served = n["served"]
        service = (f"{_e(served['served_at'][:16].replace('T', ' '))} {_e(served['by'])} 送达, {_e(served['signed_by'])} 签收"
                   + (f"<br><small class='hash'>回执 receipt {_e(served['receipt_sha256'])}</small>"
                      if served.get("receipt_sha256") else "")) if served else "<span class='bad'>未送达 not served</span>"
        rows.append([f"<b>{_e(n['number'])}</b>", _e(n["kind"]), f"{_t(n['issued_at'])}<br><small>#{n['seq']} "
                     f"{_e(n['issued_by'])}</small>", service, f"<span class='hash'>{_e(n['sha256'])}</span>"])
    head = [("文号", "Number"), ("文书", "Kind"), ("签发", "Issued"), ("送达", "Service"), ("文本哈希", "Text SHA-256")]
    return f"<section>{_heading('文书与送达', 'Notices and service')}{_table(head, rows, '无 None')}</section>"


def _responsibility(data: dict) -> str:
    r = data["responsibility"]
    holding = [[_role(p["holder"]), f"{_e(p['state_label'] or p['state'])} <small>{_e(p['state'])}</small>",
                _t(p["since"]), "至今 open" if p["open"] else _t(p["until"]), f"{p['seconds'] / 86400:.1f}",
                _e(p["released_by"])] for p in r["holding"]]
    totals = [[_role(h["holder"]), f"{h['days']:.1f}"] for h in r["held_for"]]
    missed = [[_e("整改时限 deadline" if m["kind"] == "deadline" else m["what"]),
               _e(m.get("deadline") or m.get("action")), _t(m["due_at"]), _t(m["at"]),
               (_late(m) if m["kind"] == "deadline" else _e(m["status"])),
               _role(m["holder"]) if m["holder"] else "—", _e(m["state"])] for m in r["missed"]]
    people = [[_e(p["actor"]), " ".join(_role(x) for x in p["roles"]), _e(", ".join(p["triggers"])),
               _t(p["first_at"]), _t(p["last_at"])] for p in r["people"]]
    return ("<section>" + _heading("责任倒查", "Responsibility trace")
            + "<h3>持有期间 <small>Who held the case</small></h3>"
            + _table([("持有方", "Holder"), ("状态", "State"), ("自", "Since"), ("至", "Until"), ("天数", "Days"),
                      ("移交人", "Released by")], holding, "无 None")
            + _table([("持有方", "Holder"), ("合计天数", "Total days")], totals, "无 None")
            + "<h3>逾期与督办 <small>Deadlines and rungs missed, and who held the case then</small></h3>"
            + _table([("事项", "What"), ("内容", "Detail"), ("应完成", "Due"), ("逾期起", "Late from"),
                      ("逾期 / 结果", "Late for / status"),
                      ("当时持有方", "Held by"), ("状态", "State")], missed, "无逾期 Nothing missed")
            + "<h3>经办人 <small>People who acted</small></h3>"
            + _table([("人员", "Person"), ("角色", "Roles"), ("操作", "Actions"), ("首次", "First"), ("最近", "Last")],
                     people, "无 None")
            + "</section>")


def _late(m: dict) -> str:
    """How long a deadline stayed missed, and by whom it was held meanwhile."""
    until = "至今 still" if m.get("open") else f"至 {_t(m.get('until'))}"
    held = "; ".join(f"{escape(vocabularies.label_of('roles', h['holder']))} {h['seconds'] / 86400:.1f} 天"
                     for h in m.get("held", ()))
    return f"{m.get('days', 0):.1f} 天 days ({until})" + (f"<br><small>{held}</small>" if held else "")


def _signatures(data: dict) -> str:
    rows = [[f"<b>{_e(s['actor'])}</b><br>{_role(s['role'])}", f"{_e(s['label'])}<br><code>{_e(s['trigger'])}</code>",
             f"<span class='nowrap'>{_t(s['at'])}</span><br><small class='muted nowrap'>记录 {_t(s['recorded_at'])}</small>",
             _signed(s["signed"], data["field_labels"]), f"<span class='hash'>{_e(s['hash'])}</span>"]
            for s in data["signatures"]]
    head = [("签名人", "Signed by"), ("事项", "Action"), ("时间", "When"), ("签署内容", "Signed"),
            ("事件哈希", "Event hash (SHA-256)")]
    return f"<section class='signatures'>{_heading('签名', 'Signatures')}{_table(head, rows, '无 None')}</section>"


def _integrity(data: dict) -> str:
    chain = data["chain"]
    verdict = ("<b class='ok'>✓ 哈希链完整, 未发现篡改 The hash chain verifies: no event edited, removed or reordered.</b>"
               if chain["verified"] else "<b class='bad'>✗ 哈希链校验失败 The hash chain does not verify:</b>")
    breaks = "".join(f"<li>{_e(b['case_id'])} #{b['seq']}: {_e(b['problem'])}</li>" for b in chain["breaks"])
    return (f"<section>{_heading('完整性', 'Integrity')}<div class='integrity {'ok' if chain['verified'] else 'bad'}'>"
            f"<p>{verdict}</p>{f'<ul>{breaks}</ul>' if breaks else ''}"
            f"<p>事件数 Events: <b>{chain['events']}</b></p>"
            f"<p>最后事件哈希 Hash of the last event (SHA-256):<br><span class='hash'>{_e(chain['last_hash'])}</span></p>"
            "</div></section>")


def _footer(data: dict) -> str:
    return (f"<footer>本案卷由 hazard-closure 依据事件日志生成; 最后事件哈希可用于日后核验。 "
            f"Generated from the event log by hazard-closure at {_t(data['dossier']['generated_at'])} (Asia/Shanghai); "
            f"keep the last event hash to check this file later. "
            f"<span class='hash'>{_e(data['chain']['last_hash'])}</span></footer>")
