"""The cache of verified stored tokens: entries expire, a revocation forgets at once, and a lookup
that began before a revocation cannot put the revoked token back."""

from __future__ import annotations

from microfactory.access.model import Principal
from microfactory.access.token_cache import TokenCache

ERP = Principal(id="tok_erp", name="erp", role="integration")
SITE = Principal(id="tok_lyon", name="lyon", role="site", site="lyon")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_for_the_ttl_and_no_longer() -> None:
    clock = Clock()
    cache = TokenCache(ttl=5.0, clock=clock)
    cache.put("d-erp", ERP, cache.generation)
    clock.now += 4.9
    assert cache.get("d-erp") == ERP
    clock.now += 0.1
    assert cache.get("d-erp") is None


def test_forget_drops_the_token_at_once_and_keeps_the_others() -> None:
    cache = TokenCache(ttl=60.0, clock=Clock())
    cache.put("d-erp", ERP, cache.generation)
    cache.put("d-lyon", SITE, cache.generation)
    cache.forget("tok_erp")
    assert cache.get("d-erp") is None
    assert cache.get("d-lyon") == SITE


def test_a_lookup_begun_before_a_revocation_is_not_kept() -> None:
    cache = TokenCache(ttl=60.0, clock=Clock())
    generation = cache.generation  # the request reads it, then looks the token up in a thread
    cache.forget("tok_erp")  # meanwhile the token is revoked
    cache.put("d-erp", ERP, generation)
    assert cache.get("d-erp") is None


def test_a_zero_ttl_keeps_nothing_and_the_size_is_bounded() -> None:
    off = TokenCache(ttl=0, clock=Clock())
    off.put("d-erp", ERP, off.generation)
    assert off.get("d-erp") is None
    small = TokenCache(ttl=60.0, max_entries=2, clock=Clock())
    for digest in ("a", "b", "c"):
        small.put(digest, ERP, small.generation)
    assert [small.get(d) for d in ("a", "b", "c")] == [None, ERP, ERP]
