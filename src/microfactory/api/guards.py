"""Values no column can hold, refused with their place before any service sees them.

PostgreSQL text and JSONB cannot store a NUL character, and JSONB cannot store NaN or Infinity
(which Python's JSON parser accepts although JSON has no such numbers). Left to the database they
fail as a 500 halfway through a write; on SQLite they would be stored and break readers later. So
every /api/v1 request is checked once, here, and refused whole with 422 naming each bad place.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request

from microfactory.api.auth import Who, check_caller_route
from microfactory.errors import Invalid
from microfactory.problems import Problem

NUL = "\x00"
MAX_PROBLEMS = 20


async def guard(request: Request, principal: Who) -> None:
    """Every /api/v1 route's one dependency: 401 without a valid token, 403 when the role may not
    call the route, 422 for values no column can hold, in that order.

    One dependency rather than three: FastAPI solves each dependency on the loop at every request,
    and on order intake that was a measurable share of the loop's time.
    """
    check_caller_route(request, principal)
    await reject_unstorable(request)


async def reject_unstorable(request: Request) -> None:
    """422 when a path, query parameter or JSON body holds a NUL character, NaN or Infinity.

    The body is only parsed a second time when a cheap byte scan finds a suspect, so ordinary
    requests pay nothing.
    """
    problems = [
        Problem(f"path.{name}", "must not contain a NUL character")
        for name, value in request.path_params.items()
        if NUL in str(value)
    ]
    if request.scope.get("query_string"):  # parsing an absent query costs a dict per request
        problems += [
            Problem(f"query.{name}", "must not contain a NUL character")
            for name, value in request.query_params.multi_items()
            if NUL in value or NUL in name
        ]
    if "json" in request.headers.get("content-type", ""):
        body = await request.body()
        if b"\\u0000" in body or b"NaN" in body or b"Infinity" in body:
            try:
                document = json.loads(body)
            except (ValueError, RecursionError):
                document = None  # unreadable bodies get their own clear error from the parser
            try:
                _walk(document, "", problems)
            except RecursionError:
                problems.append(Problem("", "the body is nested too deeply to be checked"))
    if problems:
        raise Invalid("the request holds values that cannot be stored", problems[:MAX_PROBLEMS])


def _walk(value: Any, path: str, problems: list[Problem]) -> None:
    if len(problems) >= MAX_PROBLEMS:
        return
    if isinstance(value, str):
        if NUL in value:
            problems.append(Problem(path, "must not contain a NUL character"))
    elif isinstance(value, float):
        if not math.isfinite(value):
            problems.append(Problem(path, f"{value} is not a number JSON allows: use a finite number"))
    elif isinstance(value, dict):
        for key, item in value.items():
            place = f"{path}.{key}" if path else str(key)
            if NUL in key:
                problems.append(Problem(place, "the name must not contain a NUL character"))
            _walk(item, place, problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}.{index}" if path else str(index), problems)
