"""Fixtures of the foundation tests: the API client with the keypad catalog loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient


@pytest.fixture
def api(client: TestClient, examples: Path) -> TestClient:
    document = yaml.safe_load((examples / "catalog-keypad.yaml").read_text())
    response = client.post("/api/v1/catalogs", json=document)
    assert response.status_code == 201, response.text
    return client
