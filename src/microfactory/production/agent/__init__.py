"""The site's edge agent: pulls its released operations, drives the machines, reports back.

It talks to the server only over HTTP (`client.py`) and keeps its own SQLite store (`store.py`), so a
cut link never stops the machines: it goes on dispatching from what it already pulled and queues its
reports, which it sends in order once the server answers again. Report ids make a resend harmless.
`model.py` holds the pure rules (readiness, which machine), `loop.py` one pass and the long run.
"""
