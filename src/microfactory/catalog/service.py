"""Catalog use cases: load a version into storage, and find the active catalogs for intake.

Loading a new version never touches existing work orders: each work order keeps the translation
it was made with, and names the catalog version.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from microfactory.catalog.load import CatalogError, build_catalog
from microfactory.catalog.model import Catalog, Product
from microfactory.db.tables.catalog import CatalogVersionRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.problems import Problem

_BUILT: dict[tuple[str, int], Catalog] = {}


@dataclass(frozen=True)
class LoadResult:
    catalog: Catalog
    created: bool  # False when the same version was already loaded with the same document


def load_catalog(uow: UnitOfWork, document: Mapping[str, Any]) -> LoadResult:
    """Validate and store a catalog version; the same version with other content is refused."""
    catalog = build_catalog(document)
    existing = uow.session.scalar(
        select(CatalogVersionRow).where(
            CatalogVersionRow.name == catalog.name, CatalogVersionRow.version == catalog.version
        )
    )
    if existing is not None:
        if existing.document != dict(document):
            raise CatalogError(
                f"catalog {catalog.name} version {catalog.version} is already loaded with other content",
                [Problem("version", "raise the version number to load a changed catalog")],
            )
        return LoadResult(catalog, created=False)
    uow.session.add(CatalogVersionRow(name=catalog.name, version=catalog.version, document=dict(document)))
    _BUILT[(catalog.name, catalog.version)] = catalog
    uow.after_commit(lambda: _ACTIVE.pop(str(uow.engine.url), None))
    return LoadResult(catalog, created=True)


def catalog_version(uow: UnitOfWork, name: str, version: int) -> Catalog | None:
    """A stored catalog version, built once per process."""
    key = (name, version)
    if key not in _BUILT:
        row = uow.session.scalar(
            select(CatalogVersionRow).where(
                CatalogVersionRow.name == name, CatalogVersionRow.version == version
            )
        )
        if row is None:
            return None
        _BUILT[key] = build_catalog(row.document)
    return _BUILT[key]


@dataclass(frozen=True)
class CatalogSet:
    """The newest version of every loaded catalog: where intake looks products and SKUs up."""

    catalogs: tuple[Catalog, ...]

    def find_product(self, product_id: str) -> tuple[Catalog, Product] | None:
        for catalog in self.catalogs:
            product = catalog.products.get(product_id)
            if product is not None:
                return catalog, product
        return None

    def match_sku(self, sku: str) -> tuple[Catalog, Product, dict[str, str]] | None:
        """The product whose SKU pattern matches, and the option values the SKU carries."""
        for catalog in self.catalogs:
            for product in catalog.products.values():
                if product.shopify is None or product.shopify.sku_regex is None:
                    continue
                match = product.shopify.sku_regex.fullmatch(sku.strip())
                if match is not None:
                    return catalog, product, {k: v for k, v in match.groupdict().items() if v is not None}
        for catalog in self.catalogs:  # a bare product SKU also names the product with its defaults
            bare = catalog.products.get(sku.strip())
            if bare is not None and not _has_placeholder(bare):
                return catalog, bare, {}
        return None


def _has_placeholder(product: Product) -> bool:
    return product.shopify is not None and "{" in product.shopify.sku


FRESH_FOR = 1.0  # seconds: another process's new catalog is seen within this long


@dataclass
class _Active:
    state: tuple[int, int]
    catalogs: CatalogSet
    checked: float


_ACTIVE: dict[str, _Active] = {}


def active_catalogs(uow: UnitOfWork) -> CatalogSet:
    """The newest version of each catalog name, newest-loaded catalog first.

    Intake asks on every order and catalogs change rarely: the set is rebuilt only when the catalog
    table's state (row count, newest id) changed, and that state is read at most once a second. A
    catalog loaded by this process is seen at once (`load_catalog` forgets the cached set).
    """
    key = str(uow.engine.url)
    known = _ACTIVE.get(key)
    now = time.monotonic()
    if known is not None and now - known.checked < FRESH_FOR:
        return known.catalogs
    count, newest_id = uow.session.execute(
        select(func.count(CatalogVersionRow.id), func.coalesce(func.max(CatalogVersionRow.id), 0))
    ).one()
    state = (int(count), int(newest_id))
    if known is None or known.state != state:
        known = _ACTIVE[key] = _Active(state, _newest_catalogs(uow), now)
    known.checked = now
    return known.catalogs


def _newest_catalogs(uow: UnitOfWork) -> CatalogSet:
    newest = (
        select(CatalogVersionRow.name, func.max(CatalogVersionRow.version).label("version"))
        .group_by(CatalogVersionRow.name)
        .subquery()
    )
    rows = uow.session.execute(
        select(CatalogVersionRow.name, CatalogVersionRow.version)
        .join(
            newest,
            (newest.c.name == CatalogVersionRow.name) & (newest.c.version == CatalogVersionRow.version),
        )
        .order_by(CatalogVersionRow.loaded_at.desc())
    ).all()
    catalogs = []
    for name, version in rows:
        catalog = catalog_version(uow, name, version)
        if catalog is not None:
            catalogs.append(catalog)
    return CatalogSet(tuple(catalogs))
