"""CI: the tests' fake Twilio and OpenAI servers, for the web process installed from uv.lock.

Usage: python3 .ci/fakes.py PUBLIC_URL NUMBER. The fake Twilio's account has NUMBER with its
incoming webhook on PUBLIC_URL/message; the fake OpenAI knows the default models and
answers every chat request with a structured `ready` answer. Prints one JSON line with the
settings that point the app at them, then serves until SIGTERM. Standard library only, so
it runs beside any virtual environment.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_openai import Answer  # noqa: E402 (the tests' folder is added to the path first)
from fake_openai_models import API_KEY, FakeOpenAIModels  # noqa: E402
from fake_twilio_numbers import FakeTwilioAccount  # noqa: E402


def main() -> None:
    public_url, number = sys.argv[1], sys.argv[2]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeTwilioAccount() as twilio, FakeOpenAIModels() as model:
        twilio.add_number(number, sms_url=f"{public_url}/message")
        model.always(Answer.json({"ready": True}))
        settings = {
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_NUMBER": f"whatsapp:{number}",
            "TWILIO_API_URL": twilio.url,
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": model.base_url,
        }
        print(json.dumps(settings), flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
