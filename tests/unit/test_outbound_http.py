"""The shared HTTP retry policy, against httpx's own MockTransport: what is resent, and what never is."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from microfactory.errors import UpstreamFailure
from microfactory.outbound_http import RetryPolicy, retry_after, send

POLICY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=3.0, jitter=0.25)
Answer = Callable[[httpx.Request], httpx.Response]


class Upstream:
    """A scripted upstream: each request takes the next answer (a status, or an error to raise)."""

    def __init__(self, *script: int | type[httpx.TransportError] | httpx.Response) -> None:
        self.script: Iterator[int | type[httpx.TransportError] | httpx.Response] = iter(script)
        self.seen: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        step = next(self.script)
        if isinstance(step, httpx.Response):
            return step
        if isinstance(step, int):
            return httpx.Response(step, json={"status": step})
        raise step("scripted", request=request)

    def send(self, method: str, *, idempotent: bool | None = None, **kwargs: object) -> httpx.Response:
        client = httpx.Client(transport=httpx.MockTransport(self))
        with client:
            request = client.build_request(method, "https://carrier.example/v2/shipments?x=1", **kwargs)  # type: ignore[arg-type]
            return send(
                client,
                request,
                upstream="Carrier",
                policy=POLICY,
                sleep=self.sleeps.append,
                idempotent=idempotent,
            )


def test_reads_are_retried_on_gateway_errors_with_bounded_jittered_backoff() -> None:
    upstream = Upstream(502, 503, 504, 200)
    assert upstream.send("GET").status_code == 200
    assert len(upstream.seen) == 4
    for wait, base in zip(upstream.sleeps, (0.5, 1.0, 2.0), strict=True):
        assert base <= wait <= base + 0.25


def test_connect_errors_are_retried_even_for_a_mutation_since_nothing_was_sent() -> None:
    upstream = Upstream(httpx.ConnectError, httpx.ConnectTimeout, 201)
    assert upstream.send("POST", json={"buy": "rate_1"}).status_code == 201
    assert len(upstream.seen) == 3


def test_retry_after_is_honoured_and_capped() -> None:
    upstream = Upstream(httpx.Response(429, headers={"Retry-After": "7"}), 200)
    assert upstream.send("POST", json={}).status_code == 200  # a 429 was refused, not done: resent
    assert upstream.sleeps == [7.0]
    assert retry_after(httpx.Response(429, headers={"Retry-After": "9999"})) == 120.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Response(429)) is None


@pytest.mark.parametrize("happened", [httpx.ReadTimeout, httpx.RemoteProtocolError, 502, 503, 504])
def test_a_mutation_whose_outcome_is_unknown_is_never_resent(
    happened: int | type[httpx.TransportError],
) -> None:
    upstream = Upstream(happened, 201)
    with pytest.raises(UpstreamFailure) as caught:
        upstream.send("POST", json={"buy": "rate_1"})
    assert len(upstream.seen) == 1 and upstream.sleeps == []
    assert caught.value.retryable is False
    assert "outcome is unknown, so it is not resent" in caught.value.message
    assert "POST https://carrier.example/v2/shipments" in caught.value.message


def test_an_idempotency_key_or_a_declared_read_allows_resending() -> None:
    keyed = Upstream(httpx.ReadTimeout, 502, 201)
    response = keyed.send("POST", json={}, headers={"Idempotency-Key": "shp_1-label"})
    assert response.status_code == 201 and len(keyed.seen) == 3
    assert {request.headers["Idempotency-Key"] for request in keyed.seen} == {"shp_1-label"}
    graphql_read = Upstream(httpx.ReadTimeout, 200)
    assert graphql_read.send("POST", idempotent=True, json={"query": "{ shop }"}).status_code == 200


def test_attempts_are_bounded_and_other_answers_come_back_untouched() -> None:
    busy = Upstream(*([503] * 10))
    with pytest.raises(UpstreamFailure, match="HTTP 503, still after 4 attempts") as caught:
        busy.send("GET")
    assert caught.value.retryable is True and len(busy.seen) == 4 and len(busy.sleeps) == 3
    refused = Upstream(422)
    assert refused.send("POST", json={}).status_code == 422 and len(refused.seen) == 1


def test_the_shopify_admin_client_sends_through_the_policy() -> None:
    from microfactory.channels.shopify.admin import AdminApiError, ShopifyAdmin

    def admin(upstream: Upstream) -> ShopifyAdmin:
        transport = httpx.MockTransport(upstream)
        return ShopifyAdmin(
            "shop.example", "token", "2025-07", transport=transport, sleep=upstream.sleeps.append
        )

    read = Upstream(httpx.ReadTimeout, httpx.Response(200, json={"data": {"shop": {"name": "K"}}}))
    with admin(read) as client:
        assert client.graphql("query Shop { shop { name } }") == {"shop": {"name": "K"}}
    assert len(read.seen) == 2 and len(read.sleeps) == 1
    mutation = Upstream(httpx.ReadTimeout, 200)
    with admin(mutation) as client, pytest.raises(AdminApiError, match="outcome is unknown") as caught:
        client.graphql("mutation FulfillmentCreate { x }", mutation=True)
    assert isinstance(caught.value, UpstreamFailure) and caught.value.retryable is False
    assert len(mutation.seen) == 1
