"""Twilio: do the credentials work, is TWILIO_NUMBER this account's, and do its incoming
messages reach `PUBLIC_URL/message`?

Uses the official `twilio` client pointed at `TWILIO_API_URL`, with a timeout on every
request: the account (`GET Accounts/{sid}`), then the number among the account's phone
numbers (`GET IncomingPhoneNumbers?PhoneNumber=`). The WhatsApp sandbox is a number every
account shares: its webhook lives in the sandbox settings, which the API does not expose,
so for it the doctor says what to check by hand instead of failing.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from listener.channel.sender import twilio_configured, whatsapp_address
from listener.config import Settings
from listener.operators.doctor.deadline import reason, within
from listener.operators.doctor.findings import Finding, Verdict

SANDBOX_NUMBER = "+14155238886"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
CREDENTIALS_ADVICE = (
    "copy the Account SID and Auth Token again from the Twilio console (Account info) into "
    "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN; a token rotated in the console stops working at once"
)


def check_twilio(settings: Settings, timeout: float) -> list[Finding]:
    if not twilio_configured(settings):
        return [
            Finding.skipped(
                "twilio",
                "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN or TWILIO_NUMBER is not set: replies are printed and stored, not sent",
            )
        ]
    number = whatsapp_address(settings.twilio_number or "").removeprefix("whatsapp:")
    client = Client(
        settings.twilio_account_sid, settings.twilio_auth_token, http_client=TwilioHttpClient(timeout=timeout)
    )
    # Every v2010 URL is built from the `api` domain's base URL (as the sender does).
    client.api.base_url = settings.twilio_api_url.rstrip("/")
    account = _account(client, settings, timeout)
    if account.verdict != Verdict.OK:
        return [account, Finding.skipped("twilio.number", "not checked: the account check failed")]
    return [account, _number(client, settings, number, timeout), _status_callback(settings)]


def _account(client: Client, settings: Settings, timeout: float) -> Finding:
    check = "twilio.account"
    try:
        account = within(timeout + 1, lambda: client.api.v2010.accounts(settings.twilio_account_sid).fetch())
    except TwilioRestException as exc:
        if exc.status in (401, 403, 404):
            return Finding.blocker(
                check, f"Twilio refused the credentials ({exc.status}, code {exc.code})", CREDENTIALS_ADVICE
            )
        return Finding.blocker(
            check,
            f"Twilio answered {exc.status} (code {exc.code}): {exc.msg}",
            "try again; if it persists, see status.twilio.com",
        )
    except Exception as exc:
        return Finding.blocker(
            check,
            f"could not reach Twilio at {settings.twilio_api_url}: {reason(exc)}",
            "check this machine's internet access, and TWILIO_API_URL if you set it",
        )
    if account.status != "active":
        return Finding.blocker(
            check,
            f"the Twilio account is {account.status}",
            "reactivate it in the Twilio console (Billing) before the event",
        )
    kind = " (a trial account)" if account.type == "Trial" else ""
    return Finding.ok(check, f"the credentials work: account {account.friendly_name or account.sid} is active{kind}")


def _number(client: Client, settings: Settings, number: str, timeout: float) -> Finding:
    check = "twilio.number"
    expected = f"{settings.public_url.rstrip('/')}/message" if settings.public_url else None
    if not E164.match(number):
        return Finding.blocker(
            check,
            f"TWILIO_NUMBER {settings.twilio_number!r} is not a phone number",
            "write it as whatsapp:+<country code><number>",
        )
    if number == SANDBOX_NUMBER:
        return Finding.warning(
            check,
            "TWILIO_NUMBER is the WhatsApp sandbox: the API cannot read the sandbox's settings, so its webhook was not checked",
            f"in the Twilio console (Messaging > Try it out > WhatsApp sandbox settings) set 'When a message comes in' to "
            f"{expected or 'PUBLIC_URL/message'} (POST); each participant must first send the sandbox's `join <code>` message",
        )
    try:
        found = within(timeout + 1, lambda: client.incoming_phone_numbers.list(phone_number=number, limit=1))
    except TwilioRestException as exc:
        return Finding.blocker(
            check,
            f"Twilio answered {exc.status} (code {exc.code}) listing phone numbers",
            "try again; if it persists, see status.twilio.com",
        )
    except Exception as exc:
        return Finding.blocker(
            check, f"could not list the account's phone numbers: {reason(exc)}", "check this machine's internet access"
        )
    if not found:
        return Finding.warning(
            check,
            f"{number} is not among this Twilio account's phone numbers, so its webhook could not be read",
            "check TWILIO_NUMBER for a typo; if your WhatsApp sender is a number not bought from Twilio, set its webhook "
            f"in the Twilio console (Messaging > Senders > WhatsApp senders) to {expected or 'PUBLIC_URL/message'}",
        )
    return _webhook(check, number, found[0], expected)


def _webhook(check: str, number: str, phone, expected: str | None) -> Finding:
    where = f"in the Twilio console (Phone Numbers > Manage > Active numbers > {number} > Messaging)"
    if phone.sms_application_sid:
        return Finding.warning(
            check,
            f"{number} hands incoming messages to TwiML app {phone.sms_application_sid}, whose URL the doctor does not read",
            f"make sure that app's Messaging request URL is {expected or 'PUBLIC_URL/message'} (POST), or {where} set the webhook directly",
        )
    if not phone.sms_url:
        return Finding.blocker(
            check,
            f"{number} has no webhook for incoming messages: nothing reaches the app",
            f"{where} set 'A message comes in' to Webhook {expected or 'PUBLIC_URL/message'}, HTTP POST",
        )
    if expected is None:
        return Finding.warning(
            check,
            f"incoming messages to {number} go to {phone.sms_url}; PUBLIC_URL is not set, so it cannot be compared",
            "set PUBLIC_URL",
        )
    if not same_webhook(phone.sms_url, expected):
        return Finding.blocker(
            check,
            f"incoming messages to {number} go to {phone.sms_url}, not to {expected}",
            f"{where} set 'A message comes in' to {expected}, HTTP POST",
        )
    if (phone.sms_method or "POST").upper() != "POST":
        return Finding.blocker(
            check,
            f"{number}'s webhook uses HTTP {phone.sms_method}; /message takes POST",
            f"{where} set the method to HTTP POST",
        )
    return Finding.ok(check, f"incoming messages to {number} go to {phone.sms_url} (POST)")


def same_webhook(configured: str, expected: str) -> bool:
    """The same scheme, host and path (a trailing slash aside); a `#...` fragment, such as
    Twilio's connection overrides (`#rc=3&rp=all`), changes nothing the app sees."""
    a, b = urlsplit(configured.strip()), urlsplit(expected)
    return (a.scheme.lower(), a.netloc.lower(), a.path.rstrip("/"), a.query) == (
        b.scheme.lower(),
        b.netloc.lower(),
        b.path.rstrip("/"),
        b.query,
    )


def _status_callback(settings: Settings) -> Finding:
    check = "twilio.status_callback"
    if not settings.public_url:
        return Finding.warning(
            check,
            "PUBLIC_URL is not set: replies ask for no delivery report, so a reply WhatsApp refuses (such as 63016) is never recorded",
            "set PUBLIC_URL",
        )
    return Finding.ok(
        check, f"each reply asks Twilio to report its delivery to {settings.public_url.rstrip('/')}/status"
    )
