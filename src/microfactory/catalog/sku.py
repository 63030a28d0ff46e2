"""Finding the product a store's SKU names: the one question every order channel asks the catalog.

Shopify, the ERP import and any later channel take a `SkuMatcher` (in production the `CatalogSet`
of `catalog.service`, which knows the newest version of each catalog), so the channels stay pure
and tests pass a small matcher of their own.
"""

from __future__ import annotations

from typing import Protocol

from microfactory.catalog.model import Catalog, Product


class SkuMatcher(Protocol):
    def match_sku(self, sku: str) -> tuple[Catalog, Product, dict[str, str]] | None:
        """The catalog and product a SKU names and the options its pattern fixes; None if none does."""
        ...
