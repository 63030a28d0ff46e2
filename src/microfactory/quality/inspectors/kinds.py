"""The inspector kinds a catalog may name (`products.SKU.inspection.checks[].inspector`)."""

from __future__ import annotations

from microfactory.adapters import AdapterKind, Field, FieldType, Registry, env, text, url
from microfactory.quality.inspectors import Inspector
from microfactory.quality.inspectors.manual import ManualInspector
from microfactory.quality.inspectors.simulated import SimulatedInspector

INSPECTORS: Registry[Inspector] = Registry(
    "inspector",
    [
        AdapterKind("variation", (), (text("model"),), None, "learned from good units' images"),
        AdapterKind("colour", (), (text("option"),), None, "the printed colour against the option"),
        AdapterKind("engraving", (), (text("option"),), None, "the engraved text against the option"),
        AdapterKind(
            "dimension", (), (Field("tolerance_mm", FieldType.NUMBER),), None, "sizes from the image"
        ),
        AdapterKind("http", (url("url"),), (env("secret_env"),), None, "an external service's hook"),
        AdapterKind("manual", (), (), lambda _spec: ManualInspector(), "a person's verdict"),
        AdapterKind("simulated", (), (), lambda _spec: SimulatedInspector(), "a deterministic demo verdict"),
    ],
    kind_key="inspector",
)
