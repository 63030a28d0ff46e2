"""The inspector kinds a catalog may name (`products.SKU.inspection.checks[].inspector`).

Each factory takes the check's settings mapping and imports its module only when called, so
loading a catalog never pays for OpenCV, scikit-image or Tesseract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from microfactory.adapters import AdapterKind, Field, FieldType, Registry, env, text, url
from microfactory.quality.inspectors import Inspector
from microfactory.quality.inspectors.manual import ManualInspector
from microfactory.quality.inspectors.simulated import SimulatedInspector


def number(name: str) -> Field:
    return Field(name, FieldType.NUMBER)


def _variation(settings: Mapping[str, Any]) -> Inspector:
    from microfactory.quality.inspectors import variation

    return variation.from_settings(settings)


def _colour(settings: Mapping[str, Any]) -> Inspector:
    from microfactory.quality.inspectors import colour

    return colour.from_settings(settings)


def _engraving(settings: Mapping[str, Any]) -> Inspector:
    from microfactory.quality.inspectors import engraving

    return engraving.from_settings(settings)


def _dimension(settings: Mapping[str, Any]) -> Inspector:
    from microfactory.quality.inspectors import dimension

    return dimension.from_settings(settings)


def _http(settings: Mapping[str, Any]) -> Inspector:
    from microfactory.quality.inspectors import http

    return http.from_settings(settings)


INSPECTORS: Registry[Inspector] = Registry(
    "inspector",
    [
        AdapterKind(
            "variation",
            (text("model"),),
            (number("k"), number("floor"), number("min_area")),
            _variation,
            "learned from good units' images",
        ),
        AdapterKind(
            "colour",
            (),
            (
                text("option"),
                number("max_delta_e"),
                number("threshold"),
                Field("colours", FieldType.MAPPING),
                text("patch"),
            ),
            _colour,
            "the printed colour against the option",
        ),
        AdapterKind("engraving", (), (text("option"),), _engraving, "the engraved text against the option"),
        AdapterKind(
            "dimension",
            (),
            (number("tolerance_mm"), number("length_mm"), number("width_mm"), number("marker_mm")),
            _dimension,
            "sizes from the image",
        ),
        AdapterKind(
            "http",
            (url("url"),),
            (env("secret_env"), number("timeout_s"), number("attempts")),
            _http,
            "an external service's hook",
        ),
        AdapterKind("manual", (), (), lambda _spec: ManualInspector(), "a person's verdict"),
        AdapterKind("simulated", (), (), lambda _spec: SimulatedInspector(), "a deterministic demo verdict"),
    ],
    kind_key="inspector",
)


def build_inspector(check: Mapping[str, Any], path: str = "") -> Inspector:
    """The inspector a check describes (`{inspector: KIND, ...settings}`); `Invalid` names problems."""
    return INSPECTORS.build(check, path)
