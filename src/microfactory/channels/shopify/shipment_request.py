"""What a "this parcel shipped" request may hold: one check for the API and the CLI alike.

Pure. The API's pydantic body and the CLI's options both end in `check_shipment` (called by
`fulfilment_sync.queue_shipment`), so a blank tracking number is refused the same way everywhere:
a shipment without one would fulfil the whole order in Shopify with nothing to follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from microfactory.errors import Invalid
from microfactory.problems import Problem

LIMITS = {"tracking_number": 120, "company": 120, "url": 500, "idempotency_key": 120, "override_reason": 500}


@dataclass(frozen=True)
class ShipmentRequest:
    """The request's texts, trimmed; optional ones are None when blank."""

    tracking_number: str
    company: str | None = None
    url: str | None = None
    idempotency_key: str | None = None
    override_reason: str | None = None


class ShipmentInvalid(Invalid):
    """The request is refused whole, every problem named by its field."""


def check_shipment(
    tracking_number: str,
    company: str | None = None,
    url: str | None = None,
    idempotency_key: str | None = None,
    override_reason: str | None = None,
) -> ShipmentRequest:
    """Trim the texts and refuse a blank tracking number, a blank key or reason, any text too long, or a
    tracking URL that is not https (Shopify shows it to the customer as a link: a `javascript:` or
    `data:` URL would run in their browser, plain http can be altered on the way)."""
    given = {
        "tracking_number": tracking_number,
        "company": company,
        "url": url,
        "idempotency_key": idempotency_key,
        "override_reason": override_reason,
    }
    trimmed = {name: value.strip() if value is not None else None for name, value in given.items()}
    problems = [
        Problem(name, f"{name} is longer than {LIMITS[name]} characters")
        for name, value in trimmed.items()
        if value is not None and len(value) > LIMITS[name]
    ]
    if not trimmed["tracking_number"]:
        problems.append(Problem("tracking_number", "a shipment needs a tracking number"))
    if trimmed["url"] and not _is_https(trimmed["url"]):
        problems.append(Problem("url", "must be an https:// URL with a host"))
    for name in ("idempotency_key", "override_reason"):
        if given[name] is not None and not trimmed[name]:
            problems.append(Problem(name, f"{name} is blank: leave it out or give one"))
    if problems:
        raise ShipmentInvalid("the shipment request is not valid", problems)
    return ShipmentRequest(
        tracking_number=trimmed["tracking_number"] or "",
        company=trimmed["company"] or None,
        url=trimmed["url"] or None,
        idempotency_key=trimmed["idempotency_key"],
        override_reason=trimmed["override_reason"],
    )


def _is_https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() == "https" and bool(parts.hostname) and not any(c.isspace() for c in url)
