"""The quality and shipments pages in a real browser: an inspector disposes an NCR with a reason,
the inspection's photo carries its defect regions, the label link serves a PDF, and Lyon's operator
can neither see nor act on Berlin's NCR or parcel (by page, by URL, by form)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pydantic import SecretStr

from microfactory.api.app import create_app
from microfactory.config import Settings
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.web import users
from tests.browser.conftest import log_in
from tests.browser.quality_seed import QualityWorld, seed_quality
from tests.browser.seed import PASSWORD
from tests.integration.live_server import live_server


@pytest.fixture(scope="module")
def world_server(
    tmp_path_factory: pytest.TempPathFactory, examples: Path
) -> Iterator[tuple[str, QualityWorld]]:
    """The browser world with a failed inspection (an open NCR) and a labelled parcel, at Berlin."""
    url = f"sqlite:///{tmp_path_factory.mktemp('webq') / 'web.db'}"
    engine = make_engine(url)
    upgrade(engine)
    world = seed_quality(engine, examples)
    with UnitOfWork.for_engine(engine) as uow:
        users.add_user(uow, "ina", PASSWORD, "inspector", None)
        uow.commit()
    settings = Settings(
        database_url=url,
        admin_token=SecretStr("browser-admin"),
        auto_route=False,
        outbox_interval_seconds=0,
        session_secret=SecretStr("browser-test-session-secret"),
        shopify_inbox_autoprocess=False,
    )
    with live_server(create_app(settings, engine)) as base:
        yield base, world
    engine.dispose()


@pytest.fixture
def qworld(world_server: tuple[str, QualityWorld]) -> QualityWorld:
    return world_server[1]


def _post(page: Any, url: str, fields: dict[str, str]) -> int:
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    status: int = page.evaluate(
        """async ([url, body]) => (await fetch(url, {method: "POST", body: new URLSearchParams(body)})).status""",
        [url, {"csrf_token": token, **fields}],
    )
    return status


def test_the_inspection_page_draws_the_defect_regions_over_the_photo(page: Any, qworld: QualityWorld) -> None:
    log_in(page, "ina")
    page.goto("/quality")
    page.locator("#inspections").get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(f"/quality/inspections/{qworld.inspection}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("fail")
    expect(page.locator("svg rect.region").first).to_be_attached()  # one per check that found the chip
    image = page.request.get(f"/quality/inspections/{qworld.inspection}/image")
    assert image.status == 200 and image.headers["content-type"] == "image/png"
    chart = page.request.get("/quality/charts/site/berlin")
    assert chart.status == 200 and chart.body().startswith(b"\x89PNG")


def test_an_inspector_disposes_an_ncr_with_a_reason(page: Any, qworld: QualityWorld) -> None:
    log_in(page, "ina")
    page.goto("/quality")
    ncr = page.locator(f"#ncr-{qworld.ncr}")
    ncr.get_by_label(f"Disposition of {qworld.ncr}").select_option("use_as_is")
    ncr.get_by_label("Reason").fill("chip under the bezel, not visible when mounted")
    ncr.get_by_role("button", name="Dispose").click()
    expect(page.get_by_role("status")).to_contain_text(f"NCR {qworld.ncr}")
    expect(page.locator(f"#ncr-{qworld.ncr}")).to_have_count(0)
    expect(page.locator("#disposed")).to_contain_text("chip under the bezel")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    again = page.evaluate(
        """async ([url, body]) => (await fetch(url, {method: "POST", body: new URLSearchParams(body)})).text()""",
        [
            f"/quality/ncrs/{qworld.ncr}/dispose",
            {"csrf_token": token, "disposition": "scrap", "reason": "twice"},
        ],
    )
    assert "already disposed: use_as_is by ina" in again  # the page it is sent back to says why


def test_the_label_link_serves_a_pdf(page: Any, qworld: QualityWorld) -> None:
    log_in(page, "bea")
    page.goto("/shipments")
    row = page.locator(f"#parcel-{qworld.shipment}")
    expect(row).to_contain_text("ber-cargobike")
    href = row.get_by_role("link", name="Print label").get_attribute("href")
    answer = page.request.get(href)
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.body().startswith(b"%PDF")


def test_a_site_operator_cannot_see_or_act_on_another_sites_ncr_or_parcel(
    page: Any, qworld: QualityWorld
) -> None:
    log_in(page, "leo")
    page.goto("/quality")
    expect(page.locator("main")).not_to_contain_text(qworld.inspection)
    expect(page.locator("main")).not_to_contain_text(qworld.ncr)
    page.goto("/shipments")
    expect(page.locator("main")).not_to_contain_text(qworld.shipment)
    for path in (
        f"/quality/inspections/{qworld.inspection}",
        f"/quality/inspections/{qworld.inspection}/image",
        f"/shipments/{qworld.shipment}",
        f"/shipments/{qworld.shipment}/label",
        "/quality/charts/site/berlin",
    ):
        assert page.request.get(path).status == 403, path
    page.goto("/shipments")
    assert _post(page, f"/shipments/{qworld.shipment}/retry", {}) == 403
    assert _post(page, f"/quality/ncrs/{qworld.ncr}/dispose", {"disposition": "scrap", "reason": "x"}) == 403
    assert _post(page, f"/shipments/pack/{qworld.base.made_order}", {"site": "berlin"}) == 403
