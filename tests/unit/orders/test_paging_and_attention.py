"""Pages of lists and which waiting lines a catalog fix can release: pure, as tables."""

from __future__ import annotations

import pytest

from microfactory.orders.attention import catalog_can_fix, retryable
from microfactory.orders.paging import Page


@pytest.mark.parametrize(
    ("shown", "total", "offset", "next_offset", "summary"),
    [
        (50, 312, 0, 50, "showing 1-50 of 312 (next: --offset 50)"),
        (50, 312, 250, 300, "showing 251-300 of 312 (next: --offset 300)"),
        (12, 312, 300, None, "showing 301-312 of 312"),
        (3, 3, 0, None, "showing 1-3 of 3"),
        (0, 0, 0, None, "showing none of 0"),
        (0, 3, 10, None, "showing none of 3 (offset 10)"),
    ],
)
def test_a_page_says_what_it_shows_and_where_the_next_starts(
    shown: int, total: int, offset: int, next_offset: int | None, summary: str
) -> None:
    page = Page(list(range(shown)), total, 50, offset)
    assert page.next_offset == next_offset
    assert page.summary() == summary
    assert page.as_dict(str) == {
        "items": [str(n) for n in range(shown)],
        "total": total,
        "limit": 50,
        "offset": offset,
        "next": next_offset,
    }


@pytest.mark.parametrize(
    ("path", "fixable"),
    [
        ("product", True),
        ("options.color", True),
        ("parts.HSG-TOP.make.material", True),
        ("line_items[0].sku", True),
        ("lines[2].product", True),
        ("row 3.sku", True),
        ("qty", False),
        ("line_items[0].price", False),
        ("line_items[0].quantity", False),
        ("lines[0].options", False),  # options that are not a mapping: the store's fault
        ("status", False),
        ("", False),
    ],
)
def test_only_problems_a_catalog_defines_are_left_to_a_retry(path: str, fixable: bool) -> None:
    assert catalog_can_fix({"path": path, "message": "x"}) is fixable


def test_one_problem_a_person_must_see_keeps_the_line_from_a_retry() -> None:
    assert retryable([])
    assert retryable([{"path": "options.keys"}, {"path": "product"}])
    assert not retryable([{"path": "options.keys"}, {"path": "lines[0].qty"}])
