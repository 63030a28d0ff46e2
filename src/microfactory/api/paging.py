"""How a page of a list goes over HTTP, without breaking clients that expect a bare JSON list.

Lists answer a bare JSON array by default (as they always have, and as the contract's
`GET /api/v1/orders?channel=&external_id=` needs), with the size of the whole list in `X-Total-Count`
and the next page in a `Link: <...>; rel="next"` header. `?paged=true` answers the envelope
`{"items", "total", "limit", "offset", "next"}` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Query, Request, Response

from microfactory.orders.paging import Page

T = TypeVar("T")

PAGED = Query(
    False, description='answer {"items", "total", "limit", "offset", "next"} instead of a bare list'
)


def paged_answer(
    page: Page[T], view: Callable[[T], Any], request: Request, response: Response, paged: bool
) -> Any:
    """The page as a bare list with headers, or as the envelope when asked for."""
    response.headers["X-Total-Count"] = str(page.total)
    following = page.next_offset
    if following is not None:
        url = request.url.include_query_params(offset=following, limit=page.limit)
        response.headers["Link"] = f'<{url}>; rel="next"'
    if paged:
        return page.as_dict(view)
    return [view(item) for item in page.items]
