"""The ERP channel: orders from CSV or JSON files (or the same documents posted to the API).

Columns (CSV, one row per order line; order fields are read from an order's first row):
`order_id` (required), `line_id`, `product` or `sku` (one is required), `qty` (default 1),
`option:<name>` (one column per option, empty cells ignored), `email`, `name`, `currency`,
`allow_split`, `ship_to_name`, `ship_to_line1`, `ship_to_line2`, `ship_to_city`, `ship_to_postcode`,
`ship_to_region`, `ship_to_country`, `ship_to_phone`, `ship_to_company`, `ship_to_latitude`,
`ship_to_longitude`. JSON: `{"orders": [{"order_id", "email", ..., "ship_to": {...},
"lines": [{"line_id", "product" | "sku", "qty", "options": {...}}]}]}` (or the bare list).

A file that cannot be read as orders at all (no `order_id` column, not JSON) is refused whole with
every problem; a line that is wrong (unknown SKU, bad quantity, invalid option) is kept and waits in
*needs attention*, exactly as a Shopify line would. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from microfactory.catalog.bridge import MAX_LINE_QTY
from microfactory.catalog.sku import SkuMatcher
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid
from microfactory.orders import iso_codes, service
from microfactory.orders.model import Address, NewOrder, NewOrderLine
from microfactory.problems import Problem

CHANNEL = "erp"
MAX_ROWS = 50_000
SHIP_TO_FIELDS = (
    "name", "line1", "line2", "city", "postcode", "region", "country", "phone", "company",
    "latitude", "longitude",
)  # fmt: skip
TRUE = {"1", "true", "yes", "y"}
KNOWN_COLUMNS = frozenset(
    {"order_id", "line_id", "product", "sku", "qty", "email", "name", "currency", "allow_split"}
    | {f"ship_to_{name}" for name in SHIP_TO_FIELDS}
)


class OrderFileError(Invalid):
    """The document is not an order file; nothing was imported."""


@dataclass(frozen=True)
class Imported:
    order: OrderRow
    created: bool
    refused: str | None = None  # the id was imported before with other content: what differs


def parse(content: str, kind: str, catalogs: SkuMatcher) -> list[NewOrder]:
    """Orders from a CSV or JSON document (`kind` is "csv" or "json")."""
    if "\x00" in content:  # PostgreSQL cannot store it; refuse the file rather than fail mid-import
        line = content.count("\n", 0, content.index("\x00")) + 1
        raise OrderFileError("not a text file", [Problem(f"line {line}", "the file holds a NUL character")])
    if kind == "json":
        return parse_json(content, catalogs)
    if kind == "csv":
        return parse_csv(content, catalogs)
    raise OrderFileError("unknown file kind", [Problem("", f"expected csv or json, not {kind!r}")])


def parse_csv(content: str, catalogs: SkuMatcher) -> list[NewOrder]:
    """Orders from CSV; a row whose cells cannot all be placed (an extra cell, an unknown column, an
    unclosed quote) refuses the file, naming row and column, rather than losing what it said."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff"), newline=""), strict=True)
    rows = _Rows(reader)
    try:
        return _parse_csv(reader, rows, catalogs)
    except csv.Error as error:  # a stray quote or carriage return, an overlong cell: say where
        where = f"row {rows.row}, from line {rows.line}: " if rows.row > 1 else ""
        raise OrderFileError(
            "not a readable CSV file",
            [Problem(f"line {reader.line_num}", f"the CSV cannot be read: {where}{_csv_reason(error)}")],
        ) from error


class _Rows:
    """The rows of a CSV reader, numbered as a spreadsheet shows them, knowing where each began."""

    def __init__(self, reader: csv.DictReader[str]) -> None:
        self.reader = reader
        self.row = 1  # the header
        self.line = 1

    def __iter__(self) -> Iterator[tuple[int, dict[str | None, Any]]]:
        while True:
            self.row += 1
            self.line = self.reader.line_num + 1
            try:
                raw = next(self.reader)
            except StopIteration:
                return
            yield self.row, raw


def _csv_reason(error: csv.Error) -> str:
    reason = str(error)
    if "unexpected end of data" in reason or "EOF" in reason:
        return f"{reason} (a quote opened in this row is never closed)"
    return reason


def _known_column(name: str) -> bool:
    return name in KNOWN_COLUMNS or (name.startswith("option:") and len(name) > len("option:"))


def _parse_csv(reader: csv.DictReader[str], rows_read: _Rows, catalogs: SkuMatcher) -> list[NewOrder]:
    columns = [c.strip() for c in reader.fieldnames or []]
    problems = []
    if "order_id" not in columns:
        problems.append(Problem("columns", "the column order_id is required"))
    if "product" not in columns and "sku" not in columns:
        problems.append(Problem("columns", "a product or a sku column is required"))
    for column in columns:
        if not _known_column(column):
            problems.append(
                Problem(f"columns.{column}", f"unknown column {column!r} (see docs/integrations/erp.md)")
            )
    if problems:
        raise OrderFileError("not an order file", problems)
    grouped: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, raw in rows_read:
        if number > MAX_ROWS:
            raise OrderFileError("file too large", [Problem("rows", f"more than {MAX_ROWS} rows")])
        surplus = raw.get(None)
        if surplus:
            problems.append(
                Problem(
                    f"row {number}",
                    f"{len(surplus)} cell(s) past the {len(columns)} columns of the header, "
                    f"from column {len(columns) + 1}: {surplus[0][:40]!r}",
                )
            )
            continue
        row = {str(k).strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not row.get("order_id"):
            if any(row.values()):
                problems.append(Problem(f"row {number}.order_id", "the row has no order_id"))
            continue
        grouped.setdefault(row["order_id"], []).append((number, row))
    if problems:
        raise OrderFileError("rows that cannot be read whole", problems)
    orders = []
    for external_id, rows in grouped.items():
        first = rows[0][1]
        lines = []
        for number, row in rows:
            options = {k.removeprefix("option:"): v for k, v in row.items() if k.startswith("option:") and v}
            document: dict[str, Any] = {"line_id": row.get("line_id"), "product": row.get("product")}
            document.update({"sku": row.get("sku"), "qty": row.get("qty") or "1", "options": options})
            lines.append(_line(document, f"row {number}", catalogs))
        ship_to = {name: first.get(f"ship_to_{name}", "") for name in SHIP_TO_FIELDS}
        order = _order(external_id, first, ship_to, lines)
        problems += _header_problems(order, f"row {rows[0][0]}", csv_columns=True)
        orders.append(order)
    if problems:
        raise OrderFileError("orders with values no shipment can use", problems)
    return orders


def parse_json(content: str, catalogs: SkuMatcher) -> list[NewOrder]:
    try:
        document = json.loads(content, parse_constant=_no_constant)
    except ValueError as error:
        raise OrderFileError("not JSON", [Problem("", f"the document is not valid JSON: {error}")]) from error
    except RecursionError as error:
        raise OrderFileError("not JSON", [Problem("", "the document is nested too deeply")]) from error
    items = document.get("orders") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise OrderFileError("not an order file", [Problem("orders", "expected a list of orders")])
    problems: list[Problem] = []
    orders = []
    for index, item in enumerate(items):
        path = f"orders[{index}]"
        if not isinstance(item, dict) or not _text(item.get("order_id")):
            problems.append(Problem(f"{path}.order_id", "each order needs an order_id"))
            continue
        raw_lines = item.get("lines")
        if not isinstance(raw_lines, list) or not raw_lines:
            problems.append(Problem(f"{path}.lines", "each order needs a list of lines"))
            continue
        lines = [_line(line, f"{path}.lines[{n}]", catalogs) for n, line in enumerate(raw_lines)]
        raw_ship_to = item.get("ship_to")
        ship_to: dict[str, Any] = raw_ship_to if isinstance(raw_ship_to, dict) else {}
        order = _order(_text(item["order_id"]), item, ship_to, lines)
        problems += _header_problems(order, path)
        orders.append(order)
    if problems:
        raise OrderFileError("orders the file does not describe fully", problems)
    return orders


def _header_problems(order: NewOrder, place: str, *, csv_columns: bool = False) -> list[Problem]:
    """The orders capability's header check (country, currency, email), at the file's own place.

    The API refuses these values (422); an ERP file is refused the same way, each order named, so
    that a file that imports is one the API would have taken.
    """
    found = iso_codes.order_problems(order)
    if csv_columns:  # the CSV's columns are `ship_to_country`, `currency`, `email`
        return [Problem(f"{place}.{p.path.replace('ship_to.', 'ship_to_')}", p.message) for p in found]
    return [Problem(f"{place}.{p.path}", p.message) for p in found]


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON, though Python reads them; no column can store them."""
    raise ValueError(f"{name} is not a JSON number")


def import_orders(uow: UnitOfWork, orders: Iterable[NewOrder], actor: str = "erp import") -> list[Imported]:
    """Take in each order (idempotent on its order_id); the caller commits.

    An order_id imported before with other content is refused, that row alone, with the message the
    API gives (`OrderDiffers`); the stored order stays as it was.
    """
    results = []
    for new in orders:
        try:
            result = service.intake(uow, new, actor=actor)
        except service.OrderDiffers as refused:
            results.append(Imported(refused.order, False, str(refused)))
            continue
        results.append(Imported(result.order, result.created))
    return results


def _order(
    external_id: str, fields: Mapping[str, Any], ship_to: Mapping[str, Any], lines: list[NewOrderLine]
) -> NewOrder:
    address = {
        name: _text(ship_to.get(name), 300)
        for name in SHIP_TO_FIELDS
        if name not in ("latitude", "longitude")
    }
    address["country"] = address["country"].upper()[:2]
    return NewOrder(
        channel=CHANNEL,
        external_id=external_id[:120],
        lines=tuple(lines),
        ship_to=Address(
            **address,
            latitude=_float(ship_to.get("latitude"), 90),
            longitude=_float(ship_to.get("longitude"), 180),
        ),
        name=_text(fields.get("name"), 120) or None,
        email=_text(fields.get("email"), 320) or None,
        currency=(_text(fields.get("currency"), 3).upper() or None),
        allow_split=_text(fields.get("allow_split")).lower() in TRUE or fields.get("allow_split") is True,
    )


def _line(raw: object, path: str, catalogs: SkuMatcher) -> NewOrderLine:
    if not isinstance(raw, dict):
        return NewOrderLine(qty=0, problems=(Problem(path, "the line is not an object"),))
    problems: list[Problem] = []
    qty = _qty(raw.get("qty", 1), f"{path}.qty", problems)
    raw_options = raw.get("options")
    options: dict[str, Any] = raw_options if isinstance(raw_options, dict) else {}
    if raw.get("options") is not None and not isinstance(raw.get("options"), dict):
        problems.append(Problem(f"{path}.options", "options must be an object of name: value"))
    product = _text(raw.get("product"), 120) or None
    sku = _text(raw.get("sku"), 120) or None
    if product is None and sku is not None:
        found = catalogs.match_sku(sku)
        if found is None:
            problems.append(
                Problem(f"{path}.sku", f"unknown SKU '{sku}': no catalog product's SKU pattern matches")
            )
        else:
            product = found[1].sku
            options = {**found[2], **options}
    elif product is None:
        problems.append(Problem(f"{path}.product", "the line names no product or sku"))
    return NewOrderLine(
        qty=qty,
        product=product,
        options=dict(options),
        sku=sku,
        external_id=_text(raw.get("line_id"), 120) or None,
        problems=tuple(problems),
    )


def _qty(raw: object, path: str, problems: list[Problem]) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw <= MAX_LINE_QTY:
        return raw
    text = raw.strip() if isinstance(raw, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 9 and 0 < int(text) <= MAX_LINE_QTY:
        return int(text)
    problems.append(Problem(path, f"quantity {raw!r} is not a whole number between 1 and {MAX_LINE_QTY}"))
    return 0


def _text(value: object, limit: int = 300) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value).strip()[:limit]


def _float(value: object, bound: float) -> float | None:
    try:
        number = float(value) if isinstance(value, str | int | float) and value != "" else None
    except ValueError:
        return None
    return number if number is not None and -bound <= number <= bound else None
