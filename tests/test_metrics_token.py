"""`/metrics` with `METRICS_TOKEN` set answers only its bearer (401 otherwise, compared in
constant time); in production without a token it is closed (403) and the app says so when
it starts; in development and tests without a token it stays open."""

from __future__ import annotations

import logging

from webhook_support import db_path, fake_twilio, start_app  # noqa: F401 (fixtures)

TOKEN = "metrics-test-token-not-a-secret"


def test_metrics_answer_only_the_bearer_of_the_token(start_app):
    server = start_app(metrics_token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"},
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN[:-1]}"}):
        refused = server.client.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "listener_messages_received_total" not in refused.text
    served = server.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert served.status_code == 200
    assert "listener_messages_received_total" in served.text


def test_production_without_a_token_closes_metrics_and_warns(start_app, caplog):
    with caplog.at_level(logging.WARNING, logger="listener.channel.service"):
        server = start_app(environment="production")
    assert server.client.get("/metrics").status_code == 403
    assert "METRICS_TOKEN" in server.client.get("/metrics").json()["detail"]
    assert any("METRICS_TOKEN is not set" in record.getMessage() for record in caplog.records)


def test_outside_production_without_a_token_metrics_stay_open(start_app):
    server = start_app()
    served = server.client.get("/metrics")
    assert served.status_code == 200 and "listener_messages_received_total" in served.text
