"""Channels: how a message leaves the engine (e-mail over SMTP, a signed webhook POST), as adapters.

Each adapter takes a claimed outbox row and either returns (sent) or raises `Undelivered`, saying whether the
failure is `permanent` (a refused address, a URL the receiver rejects: trying again would not help) or passing
(the server is down, a timeout: the deliverer tries again later). The settings come from the database
(`hazard notify channel set ...`, engine/app/channel_settings.py); a channel not configured leaves its
messages pending, shown by `hazard notify status`. Tests replace `CHANNELS` entries with fakes as needed.
"""
from __future__ import annotations

import json
import smtplib
import socket
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid

from engine.domain.notifications import sign

TIMEOUT = 10.0   # seconds for one try: a hung server must not hold a deliverer's whole batch


class Undelivered(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


class Email:
    """Plain-text mail through the configured SMTP server; the idempotency key goes in Message-ID's local part."""

    def __init__(self, settings: dict, password: str | None = None):
        self.host, self.port = settings["host"], int(settings["port"])
        self.sender = settings.get("sender") or "hazard-closure@localhost"
        self.user, self.password, self.starttls = settings.get("user"), password, bool(settings.get("starttls"))

    def send(self, row) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"] = self.sender, row.address
        mail["Subject"] = f"隐患 {row.case_id} 通知"
        mail["Message-ID"] = make_msgid(idstring=row.key.replace("/", "."), domain="hazard-closure")
        mail["X-Hazard-Idempotency-Key"] = row.key
        mail.set_content(row.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise Undelivered(f"the server refused {row.address}: {_first(exc.recipients)}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx is the server's final word on this message; 4xx (and anything else) is worth another try.
            raise Undelivered(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}",
                              permanent=500 <= exc.smtp_code < 600) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Undelivered(f"SMTP server {self.host}:{self.port}: {exc}", permanent=False) from exc


class Webhook:
    """A JSON POST to the user's URL, signed with HMAC-SHA256 of the exact body (`X-Hazard-Signature`)."""

    def __init__(self, secret: str):
        self.secret = secret

    def send(self, row) -> None:
        body = json.dumps({"key": row.key, "case_id": row.case_id, "seq": row.seq, "recipient": row.recipient,
                           "text": row.text, "created_at": row.created_at.isoformat()},
                          ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(row.address, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": row.key,
            "X-Hazard-Signature": sign(self.secret, body), "User-Agent": "hazard-closure"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                answer.read(1024)
        except urllib.error.HTTPError as exc:
            # The receiver said no to this request (404, 401, 400): trying again sends the same thing. Only
            # 408 and 429 ask for a later try, as do 5xx.
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise Undelivered(f"webhook {row.address}: HTTP {exc.code}", permanent=permanent) from exc
        except (urllib.error.URLError, socket.timeout, OSError, ValueError) as exc:
            permanent = isinstance(exc, ValueError)  # not a URL at all
            raise Undelivered(f"webhook {row.address}: {getattr(exc, 'reason', exc)}", permanent=permanent) from exc


def _first(recipients: dict) -> str:
    for code, text in recipients.values():
        return f"{code} {_text(text)}"
    return "refused"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
