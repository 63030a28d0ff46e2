"""Stored tokens verified a moment ago, so that a request with one needs no database read.

Looking a stored token up costs a worker-thread hop and a query on every request (the loop must not
query). The API keeps what it verified for `ttl` seconds, by the SHA-256 of the secret, never the
secret itself. A revocation through this process forgets the token at once; one through another
process (the CLI, another API worker) is seen once the entry expires, so a revoked token is refused
everywhere within `ttl` seconds (`MICROFACTORY_TOKEN_CACHE_SECONDS`, 5 by default; 0 turns the
cache off). Only verified tokens are kept: an unknown secret is looked up every time, so guessing
fills nothing, and a token issued a moment ago works at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from microfactory.access.model import Principal

MAX_ENTRIES = 1024  # far more live tokens than a deployment has; the oldest entry goes first


class TokenCache:
    """Principals by token digest, each for `ttl` seconds; `forget` drops a revoked token at once.

    A lookup that began before a revocation must not put the revoked token back when it ends, so
    `put` takes the `generation` read before the lookup and is ignored if a `forget` came between.
    """

    def __init__(
        self, ttl: float, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._lock = threading.Lock()  # the loop reads and fills; a revoking thread forgets
        self.generation = 0

    def get(self, digest: str) -> Principal | None:
        """The principal verified for this digest within `ttl` seconds, or None."""
        with self._lock:
            found = self._entries.get(digest)
            if found is None:
                return None
            if found[0] <= self._clock():
                del self._entries[digest]
                return None
            return found[1]

    def put(self, digest: str, principal: Principal, generation: int) -> None:
        """Keep a principal looked up while `generation` was current (ignored when it is not)."""
        if self.ttl <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            self._entries[digest] = (self._clock() + self.ttl, principal)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def forget(self, token_id: str) -> None:
        """Drop the token (revoked through this process): its next request is looked up again."""
        with self._lock:
            self.generation += 1
            for digest in [d for d, (_, p) in self._entries.items() if p.id == token_id]:
                del self._entries[digest]
