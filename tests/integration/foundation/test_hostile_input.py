"""Hostile input: every bad request gets a 4xx naming the problem, and nothing accepted is lost.

Each bug found by fuzzing the API (schemathesis) has a regression test here; the rest cover the
kinds of input a careless or malicious client sends. Runs on SQLite and PostgreSQL: NUL characters
and NaN only fail on PostgreSQL, where they used to be 500s halfway through a write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient


def order_body(external_id: str, **line: Any) -> dict[str, Any]:
    return {"external_id": external_id, "lines": [{"product": "KP", "qty": 1, **line}]}


def post_raw(api: TestClient, path: str, body: bytes, content_type: str = "application/json") -> Any:
    return api.post(path, content=body, headers={"Content-Type": content_type})


def assert_error(response: Any, status: int, path: str | None = None, says: str = "") -> dict[str, Any]:
    """The standard error body, with a problem at `path` (when given) whose message contains `says`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "problems"}
    assert isinstance(body["error"], str) and body["error"]
    assert all(set(p) == {"path", "message"} for p in body["problems"])
    if path is not None:
        matching = [p for p in body["problems"] if p["path"] == path]
        assert matching, body
        assert says in matching[0]["message"], body
    return dict(body)


def order_count(api: TestClient) -> int:
    return len(api.get("/api/v1/orders", params={"limit": 1000}).json())


# Bugs found by fuzzing ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/work-orders"])
@pytest.mark.parametrize("offset", [2**63, 10**20])
def test_huge_offset_is_refused_not_a_500(api: TestClient, path: str, offset: int) -> None:
    assert_error(api.get(path, params={"offset": offset}), 422, "query.offset", "less than or equal")


def test_csv_with_stray_carriage_return_is_refused_not_a_500(api: TestClient) -> None:
    fuzzed = "\r^\x02Ç\U000ac56a\x9f".encode()  # schemathesis' input: was csv.Error, a 500
    assert_error(post_raw(api, "/api/v1/orders/import", fuzzed, "text/csv"), 422, "columns", "order_id")
    oversized = b'order_id,product\nA,"' + b"x" * 200_000 + b'"\n'
    assert_error(post_raw(api, "/api/v1/orders/import", oversized, "text/csv"), 422, "line 1", "field limit")


def test_csv_that_is_not_utf8_is_refused_not_mangled(api: TestClient) -> None:
    response = post_raw(api, "/api/v1/orders/import", b"order_id,product\nA\xff,KP\n", "text/csv")
    assert_error(response, 422, "", "not UTF-8")
    assert order_count(api) == 0


def test_deeply_nested_import_document_is_refused_not_a_500(api: TestClient) -> None:
    response = post_raw(api, "/api/v1/orders/import", b"[" * 100_000 + b"]" * 100_000)
    assert_error(response, 422, "", "nested too deeply")


@pytest.mark.parametrize(
    "body",
    [
        b'{"external_id": "\xff\xfe", "lines": [{"product": "KP"}]}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["not-utf8", "nested-100000"],
)
def test_unreadable_body_says_why(api: TestClient, body: bytes) -> None:
    problem = assert_error(post_raw(api, "/api/v1/orders", body), 422)["problems"][0]
    assert problem["message"] != "There was an error parsing the body"
    assert "UTF-8" in problem["message"] or "nested too deeply" in problem["message"]


def test_deeply_nested_options_are_refused(api: TestClient) -> None:
    options = b'{"a":' * 5000 + b"1" + b"}" * 5000
    body = b'{"external_id": "deep", "lines": [{"product": "KP", "options": ' + options + b"}]}"
    assert_error(post_raw(api, "/api/v1/orders", body), 422, "", "nested too deeply")
    assert order_count(api) == 0


def test_moderately_nested_options_wait_in_needs_attention(api: TestClient) -> None:
    options: dict[str, Any] = {}
    inner = options
    for _ in range(100):
        inner["a"] = {}
        inner = inner["a"]
    created = api.post("/api/v1/orders", json=order_body("nested", options=options))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "needs_attention"
    assert api.get(f"/api/v1/orders/{created.json()['id']}").status_code == 200


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (order_body("a\x00b"), "external_id"),
        ({"external_id": "nul-product", "lines": [{"product": "K\x00P"}]}, "lines.0.product"),
        (order_body("nul-option", options={"engraving": "x\x00y"}), "lines.0.options.engraving"),
        ({**order_body("nul-ship"), "ship_to": {"name": "Jonas\x00"}}, "ship_to.name"),
    ],
    ids=["external-id", "product", "option", "ship-to"],
)
def test_nul_characters_are_refused_with_their_place(api: TestClient, body: Any, where: str) -> None:
    assert_error(api.post("/api/v1/orders", json=body), 422, where, "NUL")
    assert order_count(api) == 0


@pytest.mark.parametrize("param", ["status", "channel"])
def test_nul_in_query_is_refused(api: TestClient, param: str) -> None:
    response = api.get("/api/v1/orders", params={param: "a\x00"})
    assert_error(response, 422, f"query.{param}", "NUL")


def test_nul_in_erp_import_is_refused(api: TestClient) -> None:
    csv = post_raw(api, "/api/v1/orders/import", b"order_id,product\nA\x00,KP\n", "text/csv")
    assert_error(csv, 422, "line 2", "NUL")
    document = post_raw(
        api, "/api/v1/orders/import", b'[{"order_id": "A\\u0000", "lines": [{"product": "KP"}]}]'
    )
    assert_error(document, 422, "0.order_id", "NUL")
    assert order_count(api) == 0


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (
            b'{"external_id": "n", "lines": [{"product": "KP", "options": {"keys": NaN}}]}',
            "lines.0.options.keys",
        ),
        (
            b'{"external_id": "i", "lines": [{"product": "KP", "options": {"engraving": Infinity}}]}',
            "lines.0.options.engraving",
        ),
        (
            b'{"external_id": "l", "ship_to": {"latitude": NaN}, "lines": [{"product": "KP"}]}',
            "ship_to.latitude",
        ),
    ],
    ids=["nan-option", "infinity-option", "nan-latitude"],
)
def test_nan_and_infinity_are_refused(api: TestClient, raw: bytes, where: str) -> None:
    assert_error(post_raw(api, "/api/v1/orders", raw), 422, where, "finite number")
    assert order_count(api) == 0


@pytest.mark.parametrize(("price", "says"), [("1e300", "14 digits"), ("1.123456789", "4 decimal places")])
def test_price_the_column_cannot_hold_is_refused(api: TestClient, price: str, says: str) -> None:
    response = api.post("/api/v1/orders", json=order_body("price", unit_price=price))
    assert_error(response, 422, "lines.0.unit_price", says)
    assert order_count(api) == 0


def test_stock_count_the_column_cannot_hold_is_refused(api: TestClient, examples: Path) -> None:
    network = yaml.safe_load((examples / "network.yaml").read_text())
    loaded = post_raw(api, "/api/v1/network", json.dumps(network, default=str).encode())  # YAML dates
    assert loaded.status_code == 201, loaded.text
    site = next(iter(network["sites"]))
    event = {"kind": "stock_count", "site": site, "part": "KEYCAP", "qty": 10**40}
    assert_error(api.post("/api/v1/network/events", json=event), 422, "qty", "digits")


@pytest.mark.parametrize("qty", [1.5, 2.0, "3", True, -1, 0, 10**30])
def test_quantity_must_be_a_whole_number_in_range(api: TestClient, qty: Any) -> None:
    assert_error(api.post("/api/v1/orders", json=order_body("qty", qty=qty)), 422, "lines.0.qty")
    assert order_count(api) == 0


@pytest.mark.parametrize(
    ("field", "value"), [("allow_split", 0), ("allow_split", "yes")], ids=["zero", "text"]
)
def test_booleans_are_not_guessed(api: TestClient, field: str, value: Any) -> None:
    assert_error(api.post("/api/v1/orders", json={**order_body("b"), field: value}), 422, field)


def test_false_is_not_a_coordinate(api: TestClient) -> None:
    body = {**order_body("coords"), "ship_to": {"latitude": 52.5, "longitude": False}}
    assert_error(api.post("/api/v1/orders", json=body), 422, "ship_to.longitude")


def test_false_is_not_a_routing_weight(api: TestClient) -> None:
    response = api.put(
        "/api/v1/network/weights", json={"distance": 1, "load": 1, "cost": 1, "promise": False}
    )
    assert_error(response, 422, "promise")


# Other hostile input -----------------------------------------------------------------------------


def test_malformed_json_is_refused(api: TestClient) -> None:
    body = assert_error(post_raw(api, "/api/v1/orders", b'{"external_id": '), 422)
    assert body["error"] == "the request body is not valid JSON"


def test_huge_array_of_lines_is_refused_by_size(api: TestClient) -> None:
    body = {"external_id": "huge", "lines": [{"product": "KP"}] * 100_000}
    assert_error(api.post("/api/v1/orders", json=body), 413)
    assert order_count(api) == 0


def test_501_lines_are_refused_and_500_are_kept_whole(api: TestClient) -> None:
    line = {"product": "KP", "options": {"keys": 12, "color": "white"}}
    too_many = {"external_id": "many", "lines": [line] * 501}
    assert_error(api.post("/api/v1/orders", json=too_many), 422, "lines", "at most 500")
    assert order_count(api) == 0
    created = api.post("/api/v1/orders", json={"external_id": "many", "lines": [line] * 500})
    assert created.status_code == 201, created.text
    again = api.post("/api/v1/orders", json={"external_id": "many", "lines": [line] * 500})
    assert again.status_code == 200
    stored = api.get(f"/api/v1/orders/{created.json()['id']}").json()
    assert len(stored["lines"]) == 500
    assert len({line["id"] for line in stored["lines"]}) == 500
    assert order_count(api) == 1


def test_unicode_is_kept_exactly(api: TestClient) -> None:
    external_id = "Ordre-🔥-日本-\u202e-ä"
    created = api.post("/api/v1/orders", json=order_body(external_id, options={"engraving": "Grüße 🔑"}))
    assert created.status_code == 201, created.text
    found = api.get("/api/v1/orders", params={"channel": "api", "external_id": external_id}).json()
    assert [o["external_id"] for o in found] == [external_id]
    assert found[0]["lines"][0]["options"]["engraving"] == "Grüße 🔑"


@pytest.mark.parametrize(
    "keys", [-12, 10**30, 1e308, True, [12]], ids=["neg", "huge", "float", "bool", "list"]
)
def test_absurd_option_values_wait_in_needs_attention(api: TestClient, keys: Any) -> None:
    created = api.post("/api/v1/orders", json=order_body("absurd", options={"keys": keys}))
    assert created.status_code == 201, created.text
    line = created.json()["lines"][0]
    assert line["status"] == "needs_attention"
    assert any(p["path"] == "options.keys" for p in line["problems"]), line["problems"]


def test_unknown_product_waits_in_needs_attention(api: TestClient) -> None:
    created = api.post("/api/v1/orders", json={"external_id": "nope", "lines": [{"product": "NOPE"}]})
    assert created.status_code == 201, created.text
    assert created.json()["lines"][0]["status"] == "needs_attention"
    assert created.json()["lines"][0]["problems"]


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/work-orders"])
@pytest.mark.parametrize(("name", "value"), [("limit", -1), ("limit", 0), ("limit", 10**6), ("offset", -1)])
def test_limit_and_offset_out_of_range(api: TestClient, path: str, name: str, value: int) -> None:
    assert_error(api.get(path, params={name: value}), 422, f"query.{name}")


@pytest.mark.parametrize(
    "odd", ["%00", "a%00b", "%F0%9F%94%A5", "x'%20OR%201=1--", "%25", "%FF", "a" * 3000], ids=str
)
def test_odd_path_ids_get_a_clear_answer(api: TestClient, odd: str) -> None:
    for path in (f"/api/v1/orders/{odd}", f"/api/v1/work-orders/{odd}", f"/api/v1/orders/{odd}/history"):
        response = api.get(path)
        assert response.status_code in (404, 422), (path, response.text)
        assert_error(response, response.status_code)
    if "%00" in odd:
        assert_error(api.get(f"/api/v1/orders/{odd}"), 422, "path.order_id", "NUL")
    else:
        assert "no order" in api.get(f"/api/v1/orders/{odd}").json()["error"]


def test_anonymous_request_gets_401_before_input_checks(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    response = anonymous.get("/api/v1/orders", params={"status": "a\x00"})
    assert_error(response, 401)


def test_an_oversized_chunked_body_gets_413_like_the_webhook(api: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b" " * 65_536  # 2.5 MB, no Content-Length: the limit is found while reading

    response = api.post("/api/v1/orders", content=chunks(), headers={"Content-Type": "application/json"})
    body = assert_error(response, 413)
    assert "larger than the limit" in body["error"]
    assert order_count(api) == 0


@pytest.mark.parametrize("value", [b"Infinity", b"NaN", b"-1", b"1e400"])
def test_a_weight_that_is_not_finite_is_refused_by_name(api: TestClient, value: bytes) -> None:
    weights = b'{"distance": 1, "load": 1, "cost": ' + value + b', "promise": 1}'
    stored = api.put("/api/v1/network/weights", content=weights, headers={"Content-Type": "application/json"})
    assert_error(stored, 422, "cost")
    per_call = post_raw(api, "/api/v1/work-orders/route", b'{"weights": ' + weights + b"}")
    assert_error(per_call, 422, "weights.cost")


def test_malformed_json_names_line_and_column_not_a_position(api: TestClient) -> None:
    raw = b'{\n  "external_id": "x",\n  "lines": [}\n}'
    body = assert_error(post_raw(api, "/api/v1/orders", raw), 422, "body", "line 3, column 13")
    assert body["error"] == "the request body is not valid JSON"


def test_bad_query_parameters_are_called_query_parameters(api: TestClient) -> None:
    body = assert_error(api.get("/api/v1/orders", params={"limit": "many"}), 422, "query.limit")
    assert body["error"] == "the query parameters are not valid"


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/work-orders"])
def test_an_unknown_status_filter_is_refused(api: TestClient, path: str) -> None:
    assert_error(api.get(path, params={"status": "bogus"}), 422, "query.status", "cancelled")


def test_cancel_without_a_body_names_the_body(api: TestClient) -> None:
    created = api.post("/api/v1/orders", json=order_body("to-cancel"))
    assert created.status_code == 201
    assert_error(api.post(f"/api/v1/orders/{created.json()['id']}/cancel"), 422, "body", "required")


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("ship_to", {"country": "ZZ"}, "ship_to.country"),
        ("currency", "XYZ", "currency"),
        ("email", "not-an-email@", "email"),
        ("email", "two@at@example.com", "email"),
    ],
    ids=["country", "currency", "email-no-domain", "email-two-ats"],
)
def test_codes_and_emails_that_do_not_exist_are_refused(
    api: TestClient, field: str, value: Any, where: str
) -> None:
    assert_error(
        api.post("/api/v1/orders", json={**order_body("codes"), field: value}),
        422,
        where,
        value if isinstance(value, str) else "ZZ",
    )
    good = {**order_body("good"), "currency": "eur", "email": "ana@example.com", "ship_to": {"country": "fr"}}
    created = api.post("/api/v1/orders", json=good)
    assert created.status_code == 201, created.text
