"""Wiring done once per process: which capability listens to which domain event.

The API, the CLI, the workers and the demo all call `bootstrap()` before doing any work, so that,
for example, a cancelled work order always gives its reserved stock back in the same transaction.
"""

from __future__ import annotations

from functools import cache


@cache
def bootstrap() -> None:
    from microfactory.network.service import register_event_handlers

    register_event_handlers()
