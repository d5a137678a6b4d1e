"""The fake OpenAI with what `listener doctor` adds: API keys checked, and the models API.

Extends `fake_openai.FakeOpenAI` (chat and transcription answers stay scripted as there)
with `GET /v1/models/{model}` for the models in `models` (404 `model_not_found` for the
others), and a 401 `invalid_api_key` for any request whose bearer key is not `api_key`.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from fake_openai import FakeOpenAI

API_KEY = "sk-test-doctor-not-a-secret"
INVALID_KEY = {
    "error": {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}


class FakeOpenAIModels(FakeOpenAI):
    def __init__(
        self, models: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o-mini-transcribe"), api_key: str = API_KEY
    ) -> None:
        self.models = set(models)
        self.api_key = api_key
        self.model_reads: list[str] = []
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self
        scripted = super()._handler()

        class Handler(scripted):
            def _answer(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _authorised(self) -> bool:
                return self.headers.get("authorization") == f"Bearer {fake.api_key}"

            def do_GET(self) -> None:
                if not self._authorised():
                    self._answer(401, INVALID_KEY)
                    return
                if not self.path.startswith("/v1/models/"):
                    self._answer(404, {"error": {"message": f"no route {self.path}"}})
                    return
                model = self.path.removeprefix("/v1/models/")
                fake.model_reads.append(model)
                if model not in fake.models:
                    self._answer(
                        404,
                        {
                            "error": {
                                "message": f"The model `{model}` does not exist or you do not have access to it.",
                                "type": "invalid_request_error",
                                "param": None,
                                "code": "model_not_found",
                            }
                        },
                    )
                    return
                self._answer(200, {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "system"})

            def do_POST(self) -> None:
                if not self._authorised():
                    self.rfile.read(int(self.headers.get("content-length") or 0))
                    self._answer(401, INVALID_KEY)
                    return
                super().do_POST()

        return Handler
