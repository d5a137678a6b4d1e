"""The fake Twilio with the account's read endpoints `listener doctor` calls.

Extends `fake_twilio.FakeTwilio` (sends and media stay as they are) with
`GET /2010-04-01/Accounts/{sid}.json` and
`GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json?PhoneNumber=...`, answering in
Twilio's shapes (a list page with its paging keys), Basic auth checked as for sends.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

from fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, _Handler
from local_server import LocalServer

ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)\.json$")
NUMBERS = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/IncomingPhoneNumbers\.json$")


class FakeTwilioAccount(FakeTwilio):
    """`numbers` maps an E.164 number to the fields its IncomingPhoneNumber resource
    overrides (`sms_url`, `sms_method`, `sms_application_sid` ...)."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__(account_sid, auth_token)
        # The parent bound a server with its own routes: serve these instead.
        self.server.httpd.server_close()
        self.server = LocalServer(_AccountHandler, owner=self)
        self.url = self.server.url
        self.status = "active"
        self.type = "Full"
        self.numbers: dict[str, dict[str, str | None]] = {}
        self.reads: list[str] = []  # every GET path with its query, in order

    def __enter__(self) -> FakeTwilioAccount:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_number(self, number: str, sms_url: str | None, sms_method: str = "POST", **fields: str | None) -> None:
        self.numbers[number] = {"sms_url": sms_url, "sms_method": sms_method, **fields}

    def account(self) -> dict:
        return {
            "sid": self.account_sid,
            "friendly_name": "Listener test account",
            "status": self.status,
            "type": self.type,
            "owner_account_sid": self.account_sid,
            "date_created": "Mon, 02 Mar 2026 09:00:00 +0000",
            "date_updated": "Mon, 02 Mar 2026 09:00:00 +0000",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}.json",
        }

    def phone_numbers(self, number: str | None) -> dict:
        uri = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers.json"
        records = [
            {
                "sid": "PN" + f"{index:032x}",
                "account_sid": self.account_sid,
                "phone_number": phone,
                "friendly_name": phone,
                "sms_application_sid": None,
                "status_callback": None,
                "uri": f"{uri[:-5]}/PN{index:032x}.json",
                **fields,
            }
            for index, (phone, fields) in enumerate(sorted(self.numbers.items()))
            if number is None or phone == number
        ]
        return {
            "incoming_phone_numbers": records,
            "first_page_uri": f"{uri}?PageSize=50&Page=0",
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": 50,
            "start": 0,
            "end": max(len(records) - 1, 0),
            "uri": uri,
        }


class _AccountHandler(_Handler):
    def do_GET(self) -> None:
        fake: FakeTwilioAccount = self.fake
        parts = urlsplit(self.path)
        account = ACCOUNT.match(parts.path)
        numbers = NUMBERS.match(parts.path)
        if not (account or numbers):
            super().do_GET()
            return
        fake.reads.append(self.path)
        match = account or numbers
        if match["account"] != fake.account_sid or not fake.authorised(self.headers.get("Authorization")):
            self.answer(
                401,
                b'{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}',
            )
            return
        if account:
            self.answer(200, json.dumps(fake.account()).encode())
            return
        number = parse_qs(parts.query).get("PhoneNumber", [None])[0]
        self.answer(200, json.dumps(fake.phone_numbers(number)).encode())
