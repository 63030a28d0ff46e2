"""Fixtures of the operations and security tests: issuing tokens of each role through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

Issue = Callable[..., tuple[TestClient, dict[str, Any]]]


@pytest.fixture
def issue(client: TestClient) -> Issue:
    """`issue(name, role, site=None)`: a client with a new token of that role, and the creation answer."""

    def make(name: str, role: str, site: str | None = None) -> tuple[TestClient, dict[str, Any]]:
        body: dict[str, Any] = {"name": name, "role": role} | ({"site": site} if site else {})
        answer = client.post("/api/v1/tokens", json=body)
        assert answer.status_code == 201, answer.text
        issued = answer.json()
        return TestClient(client.app, headers={"Authorization": f"Bearer {issued['token']}"}), issued

    return make
