"""/alerts and /alert-deliveries: the CLI's actions over HTTP, channels masked, one error shape."""

from __future__ import annotations

from datetime import UTC, datetime

from apikit import Api
from sqlalchemy import insert

from parser_pipeline.store.schema import alert_deliveries

CHAT = "-1009876543210"


def _rule(api: Api, **fields: object) -> dict[str, object]:
    body = {"name": "mayor", "channels": [f"telegram:{CHAT}", "webhook:https://h.example/x?k=s"]}
    body.update(fields)
    response = api.post("/alerts", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_add_list_get_pause_resume_delete(api: Api) -> None:
    rule = _rule(api, mode="digest", options={"every_minutes": 30, "top": 5},
                 filter={"matched_only": True}, quiet_hours="22:00-07:00")  # fmt: skip
    assert rule["channels"] == ["telegram:…3210", "webhook:https://h.example/x"]
    assert rule["options"] == {"every_minutes": 30, "top": 5, "window_hours": 24, "k": 3.0}
    assert CHAT not in str(api.get("/alerts").json())
    assert api.get(f"/alerts/{rule['id']}").json()["recent"] == []
    assert api.post(f"/alerts/{rule['id']}/pause").json()["paused"] is True
    assert api.post(f"/alerts/{rule['id']}/resume").json()["paused"] is False
    assert api.delete(f"/alerts/{rule['id']}").status_code == 200
    missing = api.get(f"/alerts/{rule['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_a_taken_name_is_409_and_a_bad_channel_422(api: Api) -> None:
    _rule(api)
    taken = api.post("/alerts", json={"name": "mayor", "channels": [f"telegram:{CHAT}"]})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "alert_rule_exists"
    bad = api.post("/alerts", json={"name": "other", "channels": ["email:nobody"]})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "channels.0"
    assert "an email target is an address" in bad.json()["error"]["message"]
    quiet = api.post(
        "/alerts",
        json={"name": "q", "channels": [f"telegram:{CHAT}"], "quiet_hours": "08:00-08:00"},
    )
    assert quiet.status_code == 422
    assert "start and end at the same time" in quiet.json()["error"]["message"]


def test_deliveries_show_dead_letters_without_targets(api: Api) -> None:
    rule = _rule(api)
    now = datetime.now(UTC)
    with api.engine.begin() as connection:
        connection.execute(
            insert(alert_deliveries),
            [{"delivery_id": "msg_dead", "rule_id": rule["id"], "channel": "telegram",
              "target": CHAT, "payload": {"type": "alert.instant", "data": {"comments": [{}]}},
              "status": "dead", "attempts": 9, "created_at": now, "next_attempt_at": now,
              "last_error": "telegram: HTTP 403 Forbidden"}],
        )  # fmt: skip
    dead = api.get("/alert-deliveries", params={"status": "dead"}).json()
    assert [(d["delivery_id"], d["attempts"], d["comments"]) for d in dead] == [("msg_dead", 9, 1)]
    assert CHAT not in str(dead)
    assert api.get("/alert-deliveries", params={"status": "delivered"}).json() == []
    assert api.get(f"/alerts/{rule['id']}").json()["deliveries"]["dead"] == 1


def test_a_test_message_reports_each_channel(api: Api) -> None:
    rule = _rule(api, channels=[f"telegram:{CHAT}"])
    answer = api.post(f"/alerts/{rule['id']}/test").json()
    assert answer == [
        {"channel": "telegram:…3210", "ok": False,
         "error": "telegram: no bot token; set VKPIPE_ALERTS_TELEGRAM_BOT_TOKEN"}
    ]  # fmt: skip
