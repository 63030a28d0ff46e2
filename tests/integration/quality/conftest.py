"""Every quality test may name the `scripted` inspector; it leaves the registry as it found it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.quality.scripted import scripted_kind


@pytest.fixture(autouse=True)
def _scripted_inspector() -> Iterator[None]:
    with scripted_kind():
        yield
