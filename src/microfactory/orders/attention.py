"""Which problems of a line in needs attention a catalog change can solve. Pure: no database.

A line waits for one of two reasons: the catalog did not know its product, SKU, option value or
material (load a fixed catalog and re-try), or the store sent something no catalog can mend (a
quantity or price that is not a number, options that are not a mapping): a person must correct it.
`orders retry-attention` re-translates only the first kind, so it never releases a line past a
problem nobody looked at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# `line_items[0].sku` (Shopify), `lines[2].product` (ERP JSON), `row 3.sku` (ERP CSV): the channel's place
_CHANNEL_PLACE = re.compile(r"^(?:[\w ]+\[\d+\]|row \d+)\.")


def catalog_can_fix(problem: Mapping[str, object]) -> bool:
    """True when the problem names something a catalog defines: product, SKU, an option, a part."""
    path = _CHANNEL_PLACE.sub("", str(problem.get("path", "")))
    return path in ("product", "sku") or path.startswith(("options.", "parts."))


def retryable(problems: Iterable[Mapping[str, object]]) -> bool:
    """A line is worth re-translating when every problem it has is one a catalog can fix."""
    return all(catalog_can_fix(problem) for problem in problems)
