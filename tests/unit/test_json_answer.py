"""`POST /orders` answers without FastAPI's response encoder; the bytes must not change for it."""

from __future__ import annotations

import json
from datetime import date

from fastapi.encoders import jsonable_encoder

from microfactory.api.routers.orders import json_answer


def test_a_plain_view_and_one_with_promised_dates_are_answered_as_the_encoder_would() -> None:
    plain = {"id": "ord_1", "total_price": "12.5000", "lines": [{"qty": 2, "options": {"keys": 8}}]}
    routed = {**plain, "lines": [{"promised_ship_date": date(2026, 12, 1), "qty": 2}]}
    for view, status in ((plain, 201), (routed, 200)):
        answer = json_answer(view, status)
        assert answer.status_code == status
        assert json.loads(answer.body) == jsonable_encoder(view)
    assert json.loads(json_answer(routed, 200).body)["lines"][0]["promised_ship_date"] == "2026-12-01"
