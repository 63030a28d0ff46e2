"""What colour a unit should be, from the catalog: the materials its ordered options name.

A made part's `material: "PLA-{color}"` turns the ordered `color: teal` into material `PLA-TEAL`,
whose `hex` is the colour to expect. A material without `hex` falls back to its `color` read as a
CSS colour name (`teal` is #008080); an option no template names falls back to a material whose
`color` is the ordered value. The result fills `InspectionContext.colours`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from microfactory.catalog.model import Catalog, Material
from microfactory.quality.inspectors.colour import parse_colour

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expected_colours(catalog: Catalog, options: Mapping[str, object]) -> dict[str, str]:
    """Option name -> "#rrggbb" for every ordered option that names a material with a colour."""
    found: dict[str, str] = {}
    for name, value in options.items():
        if value is None or str(value) == "":
            continue
        material = _by_template(catalog, name, options) or _by_colour(catalog, str(value))
        colour = None if material is None else material_colour(material)
        if colour is not None:
            found[name] = colour
    return found


def material_colour(material: Material) -> str | None:
    """The material's `hex`, else its `color` as a CSS colour name, as "#rrggbb"; None if neither."""
    for given in (material.hex, material.color):
        parsed = parse_colour(given) if given else None
        if parsed is not None:
            return "#{:02x}{:02x}{:02x}".format(*parsed)
    return None


def _by_template(catalog: Catalog, option: str, options: Mapping[str, object]) -> Material | None:
    values = {key: str(value) for key, value in options.items()}
    for part in catalog.parts.values():
        template = part.make.material if part.make is not None else None
        if not template or f"{{{option}}}" not in template:
            continue
        filled = PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)
        material = catalog.materials.get(filled)
        if material is not None:
            return material
    return None


def _by_colour(catalog: Catalog, value: str) -> Material | None:
    folded = value.casefold()
    return next((m for m in catalog.materials.values() if m.color.casefold() == folded), None)
