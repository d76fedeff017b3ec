"""Notifications: who is told what when a step fires or a rung takes effect. Pure.

A workflow says it as data, on a transition or a rung (docs/workflows.md, `notify`):

    notify:
      - to: [enterprise, responsible]       # recipients, from RECIPIENTS
        text: "隐患 {{ case.id }} 已交办，请于 {{ fields.deadline }} 前完成整改。"
        email: "..."                        # optional: another text for one channel (inbox, email, webhook)

The unit of work turns each event into messages (`messages`) and writes them to the outbox in the event's
own transaction; a deliverer sends them later with retries (`retry_delay`) and signs webhook bodies (`sign`).
Templates are Jinja2 in the sandbox, autoescaped, checked when the definition is parsed: a syntax error or a
name outside the context is a `file:line` problem like any other.
"""
from __future__ import annotations

import hashlib
import re
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from engine.domain.enterprises import acts_for

# Who a rule may name: the case's enterprise users (those bound to its enterprise or, where none is bound, the
# unbound enterprise users of its region), the supervisors and the committee over its region, and the named
# responsible person (`fields.responsible_person`) where that is a user's name.
RECIPIENTS = ("enterprise", "supervisors", "committee", "responsible")
CHANNELS = ("inbox", "email", "webhook")
DIGEST = "digest"   # a preference among the channels: the daily digest instead of single e-mails and webhooks
RULE_KEYS = frozenset({"to", "text", *CHANNELS})
MAX_RULES = 10                # per transition or rung
MAX_TEMPLATE_CHARS = 2_000    # an SMS gateway takes a few hundred; a mail body a little more
MAX_TEXT_CHARS = 4_000        # a rendered text past this is cut (a field of many words cannot flood a phone)
# What a template may name.
CONTEXT = frozenset({"case", "fields", "step", "rung", "actor", "at"})
CASE_KEYS = ("id", "title", "enterprise", "region", "industry", "level", "state", "found_at")
# Retries: 30 s, 1, 2, 4 ... minutes, at most an hour apart; after MAX_ATTEMPTS the message has failed for good.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Rule:
    """One `notify` item: recipients and a template per channel ((channel, template) pairs; `text` for the rest)."""

    to: tuple[str, ...]
    text: str
    channels: tuple[tuple[str, str], ...] = ()
    line: int = 0

    def template(self, channel: str) -> str:
        return dict(self.channels).get(channel, self.text)


@dataclass(frozen=True)
class Person:
    """A user as notifications see them: who they are, and where they can be reached."""

    name: str
    roles: tuple[str, ...]
    regions: tuple[str, ...]
    enterprise: str | None = None
    email: str | None = None
    webhook: str | None = None
    channels: tuple[str, ...] | None = None   # the channels they chose beside the inbox; None: every one they gave;
                                              # `digest` among them: the daily digest instead of single messages

    def reached_by(self, channel: str) -> bool:
        chosen = tuple(c for c in self.channels or () if c != DIGEST)
        return channel == "inbox" or not chosen or channel in chosen

    @property
    def digest_only(self) -> bool:
        """Single messages reach them in the inbox only; e-mail and webhook bring the daily digest."""
        return DIGEST in (self.channels or ())

    def addresses(self, *, digest: bool = False) -> list[tuple[str, str]]:
        """(channel, address) of every channel a message reaches them on: the inbox always, e-mail and webhook where
        they gave an address and chose it; a single message (not `digest`) not there when they chose the digest."""
        given = (("inbox", self.name), ("email", self.email), ("webhook", self.webhook))
        return [(channel, address) for channel, address in given if address and self.reached_by(channel)
                and (digest or channel == "inbox" or not self.digest_only)]


@dataclass(frozen=True)
class Message:
    """One outbox row to be: to whom, through which channel, what; `key` makes a second copy impossible."""

    key: str
    case_id: str
    seq: int
    recipient: str
    channel: str
    address: str
    text: str


# -- parsing, with the definition's parser (file:line problems) ---------------------------------------------------
def parse_rules(parser, node, where: str, fields: frozenset[str] | None = None) -> tuple[Rule, ...]:
    """The `notify` list of a transition or rung node; problems go to `parser.problem(line, message)`."""
    from engine.domain.definition import source
    items = node.get("notify")
    if items is None:
        return ()
    if not isinstance(items, list):
        parser.problem(node.line_of("notify"), f"{where}: 'notify' must be a list of rules (to, text)")
        return ()
    if len(items) > MAX_RULES:
        parser.problem(node.line_of("notify"), f"{where}: {len(items)} notify rules is more than the limit of "
                                               f"{MAX_RULES}")
    rules = []
    for i, item in enumerate(items):
        line = items.line_of(i)
        if not isinstance(item, source.Mapping):
            parser.problem(line, f"{where}: a notify rule is a mapping with 'to' and 'text'")
            continue
        parser.keys(item, RULE_KEYS, f"{where} notify")
        to = parser.names(item, "to", f"{where} notify", required=True)
        for name in to:
            if name not in RECIPIENTS:
                parser.problem(item.line_of("to"), f"{where}: notify to unknown recipient '{name}' (recipients: "
                                                   f"{', '.join(RECIPIENTS)})")
        text = parser.text(item, "text", f"{where} notify", required=True)
        channels = tuple((c, parser.text(item, c, f"{where} notify")) for c in CHANNELS if c in item)
        for key, template in (("text", text), *channels):
            if key in item and not parser.templates_checked:
                for offset, message in template_problems(template, fields):
                    parser.problem(item.line_of(key) + offset - 1, f"{where}: notify {key}: {message}")
        rules.append(Rule(tuple(n for n in to if n in RECIPIENTS), text, channels, line))
    return tuple(rules)


def _environment():
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    return ImmutableSandboxedEnvironment(autoescape=True)


class _Lazy:
    """The one sandbox environment, made when first needed (Jinja2 is imported only by a unit that notifies)."""

    def __getattr__(self, name):
        global _ENVIRONMENT
        _ENVIRONMENT = _environment()
        return getattr(_ENVIRONMENT, name)


_ENVIRONMENT = _Lazy()


def template_problems(template: str, fields: frozenset[str] | None = None) -> list[tuple[int, str]]:
    """(line within the template, message) for a template too long, unparsable, or naming what is not there."""
    if len(template) > MAX_TEMPLATE_CHARS:
        return [(1, f"a template of {len(template):,} characters is past the limit of {MAX_TEMPLATE_CHARS:,}")]
    from jinja2 import TemplateSyntaxError, meta, nodes
    try:
        tree = _environment().parse(template)
    except TemplateSyntaxError as exc:
        return [(exc.lineno or 1, exc.message or "syntax error")]
    found = [(1, f"unknown name '{n}' (a template may use {', '.join(sorted(CONTEXT))})")
             for n in sorted(meta.find_undeclared_variables(tree) - CONTEXT)]
    for node in tree.find_all(nodes.Getattr):
        if not isinstance(node.node, nodes.Name):
            continue
        if node.node.name == "case" and node.attr not in CASE_KEYS:
            found.append((node.lineno, f"case.{node.attr} is not known (case has {', '.join(CASE_KEYS)})"))
        if node.node.name == "fields" and fields is not None and node.attr not in fields:
            found.append((node.lineno, f"fields.{node.attr} is not a field of this workflow"))
    return found


# -- which rules an event sets off ---------------------------------------------------------------------------------
def rules_for(definition, event) -> tuple[tuple[Rule, ...], str, str]:
    """(rules, step label, rung label) of what `event` sets off under `definition`: a transition's rules when it
    fires, a rung's when it takes effect (fired by the scheduler, or a proposal approved). Nothing for a record
    copied from a paper ledger: that was told long ago, if ever."""
    if event.role == "import":
        return (), "", ""
    data = event.data
    if event.trigger in ("escalate", "decide"):
        taken = data.get("status", "fired") == "fired" if event.trigger == "escalate" else \
            data.get("decision") == "approve"
        rung = definition.rung(data.get("clock"), data.get("rung")) if taken else None
        return (rung.notify, "", rung.label or rung.name) if rung is not None else ((), "", "")
    transition = definition.transition(event.from_state, event.trigger) if event.from_state else None
    if transition is None or transition.dest != event.to_state:
        return (), "", ""
    return transition.notify, transition.label or transition.trigger, ""


def recipients(rule: Rule, case, people: list[Person]) -> list[Person]:
    """The people `rule` names for `case`, each once, in the order of its `to` and then by name."""
    chosen: dict[str, Person] = {}
    covering = [p for p in people if any(case.region.startswith(r) for r in p.regions)]
    for kind in rule.to:
        if kind == "enterprise":
            firms = [p for p in people if "enterprise" in p.roles]
            bound = [p for p in firms if p.enterprise and acts_for(p.enterprise, case.enterprise, case.fields)]
            found = bound or [p for p in firms if not p.enterprise and p in covering]
        elif kind in ("supervisors", "committee"):
            role = "supervisor" if kind == "supervisors" else "committee"
            found = [p for p in covering if role in p.roles]
        else:
            named = str(case.fields.get("responsible_person") or "").strip()
            found = [p for p in people if p.name == named]
        for person in sorted(found, key=lambda p: p.name):
            chosen.setdefault(person.name, person)
    return list(chosen.values())


def messages(event, case, rules: tuple[Rule, ...], people: list[Person], *, step: str = "",
             rung: str = "") -> list[Message]:
    """The outbox rows `event` sets off: for each rule, each recipient, each channel they can be reached on
    (the inbox always; e-mail and webhook where the user gave an address and did not choose otherwise)."""
    from engine.domain.clock import iso_seconds, local_date
    from engine.domain.notices import field_text
    context = {
        "case": {"id": case.id, "title": case.title, "enterprise": case.enterprise, "region": case.region,
                 "industry": case.industry, "level": case.level, "state": case.state,
                 "found_at": local_date(case.found_at).isoformat() if case.found_at else ""},
        "fields": {k: field_text(v) for k, v in case.fields.items()},
        "step": step, "rung": rung, "actor": event.actor, "at": iso_seconds(event.at),
    }
    found = []
    texts: dict[str, str] = {}  # the context names no recipient: a template renders one text for all of them
    for number, rule in enumerate(rules):
        for person in recipients(rule, case, people):
            for channel, address in person.addresses():
                template = rule.template(channel)
                text = texts.get(template)
                if text is None:
                    text = texts[template] = render(template, context)
                found.append(Message(key=f"{event.case_id}/{event.seq}/{number}/{person.name}/{channel}",
                                     case_id=event.case_id, seq=event.seq, recipient=person.name, channel=channel,
                                     address=address, text=text))
    return found


@lru_cache(maxsize=256)
def _compiled(template: str):
    # Compiling is most of a render's cost; a definition's few templates are compiled once per process.
    return _ENVIRONMENT.from_string(template)


def render(template: str, context: dict) -> str:
    text = _compiled(template).render(context)
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS - 1] + "…"


# -- delivery ----------------------------------------------------------------------------------------------------
def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed try a message is tried again (exponential, capped)."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY) if attempts < 30 else LONGEST_RETRY


def after_failure(attempts: int, now: datetime, *, permanent: bool) -> tuple[str, datetime | None]:
    """(status, next try) after a failed try: failed for good when the address is bad or tries are spent."""
    if permanent or attempts >= MAX_ATTEMPTS:
        return "failed", None
    return "pending", now + retry_delay(attempts)


def sign(secret: str, body: bytes) -> str:
    """The webhook's signature header value: HMAC-SHA256 of the exact body, hex, as GitHub's `sha256=` form."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# -- where people are reached --------------------------------------------------------------------------------------
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
MAX_ADDRESS_CHARS = 500


_QUIET = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


def check_preferences(*, channels: str | None, quiet: str | None) -> dict:
    """`channels` ("email,webhook", "none": the inbox only; `digest` among them: the daily digest instead of single
    e-mails and webhooks) and `quiet` ("22:00-07:00", Shanghai time) as given (None: unchanged; "": back to the
    default); InvalidInput names the bad one."""
    from engine.domain.errors import InvalidInput
    found = {}
    if channels is not None:
        names = [c.strip() for c in channels.split(",") if c.strip()]
        if names == ["none"]:
            names = ["inbox"]
        wrong = [c for c in names if c not in CHANNELS + (DIGEST,)]
        if wrong or len(names) > len(CHANNELS) + 1 or len(set(names)) < len(names):
            raise InvalidInput(f"channels: {channels[:80]!r} is not a list of {', '.join(CHANNELS)} and {DIGEST} "
                               f"(or none)", field="channels")
        found["channels"] = ",".join(c for c in CHANNELS + (DIGEST,) if c in names) if names else ""
    if quiet is not None:
        quiet = quiet.strip()
        match = _QUIET.match(quiet)
        if quiet and (match is None or match.group(1, 2) == match.group(3, 4)):
            raise InvalidInput(f"quiet: {quiet[:80]!r} is not a time span like 22:00-07:00", field="quiet")
        found["quiet"] = quiet
    return found


def chosen_channels(text: str | None) -> tuple[str, ...] | None:
    """The stored `channels` preference as a tuple; None when the user chose none (every channel they gave)."""
    return tuple(c for c in text.split(",") if c) if text else None


def quiet_until(window: str | None, now: datetime) -> datetime | None:
    """When the quiet hours `window` ("22:00-07:00", Shanghai time) holding `now` end; None outside them."""
    from datetime import time as clock_time
    from engine.domain.clock import SHANGHAI
    match = _QUIET.match(window or "")
    if match is None:
        return None
    start = clock_time(int(match.group(1)), int(match.group(2)))
    end = clock_time(int(match.group(3)), int(match.group(4)))
    local = now.astimezone(SHANGHAI)
    at = local.time()
    inside = start <= at < end if start < end else (at >= start or at < end)
    if not inside:
        return None
    day = local.date() if at < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=SHANGHAI)


def check_contact(*, email: str | None, phone: str | None, webhook: str | None) -> dict:
    """The contact values given (None: unchanged; "": cleared), each checked; InvalidInput names the bad one."""
    from urllib.parse import urlsplit
    from engine.domain.errors import InvalidInput
    found = {}
    for key, value, ok, shape in (
            ("email", email, lambda v: bool(_EMAIL.match(v)), "an e-mail address like zhang@example.cn"),
            ("phone", phone, lambda v: bool(_PHONE.match(v)), "a phone number of digits (a leading + allowed)"),
            ("webhook", webhook, lambda v: urlsplit(v).scheme in ("http", "https") and bool(urlsplit(v).hostname),
             "an http:// or https:// URL")):
        if value is None:
            continue
        value = value.strip()
        # A control character (NUL above all, which PostgreSQL refuses) is in no address anyone can use.
        if value and (len(value) > MAX_ADDRESS_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in value)
                      or not ok(value)):
            raise InvalidInput(f"{key}: {value[:80]!r} is not {shape}", field=key)
        found[key] = value
    return found
