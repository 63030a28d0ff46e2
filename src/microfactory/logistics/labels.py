"""The label PDF kept with each parcel, so the packing station can print it again at any time.

Where it comes from, in order: a carrier that serves its own files (`LabelDocuments.label_pdf`);
else the label's URL, fetched once (a PDF is kept as it is, a PNG label is put on a PDF page); else
(a simulated or manual carrier, or a URL on the reserved `.invalid` domain) we draw a label
ourselves: addresses, carrier, service, tracking number and the parcel id, on an A6 page. Drawing
uses matplotlib's bare `Figure` (a dependency already, no global state), so nothing is downloaded.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx
from matplotlib.figure import Figure
from matplotlib.image import imread

from microfactory.logistics.carriers import Label
from microfactory.outbound_http import RetryPolicy, send

A6_INCHES = (4.13, 5.83)
PDF_MAGIC = b"%PDF"
PNG_MAGIC = b"\x89PNG"
FETCH_POLICY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0)


@runtime_checkable
class LabelDocuments(Protocol):
    """Optional: carriers that hand out the label file themselves (bytes of a PDF)."""

    def label_pdf(self, label: Label) -> bytes: ...


@dataclass(frozen=True)
class LabelText:
    """What our own label shows."""

    shipment_id: str
    carrier: str
    service: str
    tracking_number: str | None
    sender: str
    recipient: Mapping[str, Any]
    mass_kg: str


def label_pdf(carrier: object, label: Label, text: LabelText, timeout: float = 10.0) -> bytes:
    """The label as PDF bytes; `UpstreamFailure` when the carrier's file cannot be had (retried later)."""
    if isinstance(carrier, LabelDocuments):
        return _as_pdf(carrier.label_pdf(label), text)
    if label.url and _fetchable(label.url):
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            response = send(
                client, client.build_request("GET", label.url), upstream=text.carrier, policy=FETCH_POLICY
            )
        if response.status_code == 200:
            return _as_pdf(response.content, text)
    return draw_label(text)


def _fetchable(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and bool(host) and not host.endswith(".invalid")


def _as_pdf(content: bytes, text: LabelText) -> bytes:
    if content.startswith(PDF_MAGIC):
        return content
    if content.startswith(PNG_MAGIC):
        figure = Figure(figsize=A6_INCHES)
        axes = figure.add_axes((0, 0, 1, 1))
        axes.imshow(imread(io.BytesIO(content), format="png"))
        axes.set_axis_off()
        return _save(figure)
    return draw_label(text)  # neither PDF nor PNG: our own label, so the station can still print


def draw_label(text: LabelText) -> bytes:
    """An A6 label with what a courier needs to read; the tracking number large."""
    figure = Figure(figsize=A6_INCHES)
    to = text.recipient
    address = [str(to.get(key) or "") for key in ("name", "company", "line1", "line2") if to.get(key)] + [
        " ".join(str(to.get(key) or "") for key in ("postcode", "city")).strip(),
        str(to.get("country") or ""),
    ]
    rows: list[tuple[float, str, float, str]] = [
        (0.95, f"{text.carrier} / {text.service}", 11, "bold"),
        (0.88, f"FROM: {text.sender}", 8, "normal"),
        (0.80, "TO:", 9, "bold"),
    ]
    y = 0.74
    for entry in (line for line in address if line):
        rows.append((y, entry, 11, "normal"))
        y -= 0.06
    rows += [
        (0.30, "TRACKING", 8, "normal"),
        (0.22, text.tracking_number or "(to be entered)", 16, "bold"),
        (0.10, f"parcel {text.shipment_id}   {text.mass_kg} kg", 8, "normal"),
    ]
    for top, content, size, weight in rows:
        figure.text(0.06, top, content, fontsize=size, fontweight=weight, va="top", family="monospace")
    return _save(figure)


def _save(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="pdf", metadata={"Creator": "microfactory", "CreationDate": None})
    return out.getvalue()
