"""The example catalog's own checks judge real photos through the API: colour (from the ordered
material), engraving (Tesseract) and the variation model (trained from rendered good parts into
`MICROFACTORY_QUALITY_MODEL_DIR`). A missing model is a 409 naming the file."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image as PilImage
from sqlalchemy import Engine, select

from microfactory.api.app import create_app
from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.config import Settings
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.orders import service as order_service
from microfactory.orders.model import NewOrder, NewOrderLine
from microfactory.quality import synthetic
from microfactory.quality.recording import serials_of_work_order
from tests.integration.production.berlin_work import KREUZBERG, NOW, make_work_order, release

SIZE = (512, 384)
TEXT = "ANNA 7"
TEAL = synthetic.PartSpec(colour=synthetic.COLOURS["teal"], text=TEXT)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    synthetic.train_models(folder, {"teal": synthetic.COLOURS["teal"]}, SIZE, count=12, seed=5)
    return folder


@pytest.fixture
def api(settings: Settings, engine: Engine, model_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings.with_changes(quality_model_dir=str(model_dir)), engine)) as client:
        client.headers["Authorization"] = "Bearer test-admin-token"
        yield client


def _made_units(engine: Engine, examples: Path, qty: int) -> list[str]:
    """`qty` engraved teal keypads, one work order made at Berlin, judged by the example's checks."""
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        network_service.load_network(uow, read_network_file(examples / "network.yaml"))
        options = {"keys": 4, "color": "teal", "engraving": TEXT}
        line = NewOrderLine(qty=qty, product="KP", options=options)
        order_service.intake(
            uow, NewOrder(channel="test", external_id="R-1", lines=(line,), ship_to=KREUZBERG)
        )
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        network_service.route_work_orders(uow, now=NOW)
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        (row,) = uow.session.scalars(select(AssignmentRow)).all()
        network_service.accept(uow, row.id, actor="berlin")
        uow.commit()
        work_order = row.work_order_id
    release(engine, NOW)
    make_work_order(engine, work_order, NOW)
    with UnitOfWork.for_engine(engine) as uow:
        return serials_of_work_order(uow, work_order)


def _photo(kind: str, seed: int) -> bytes:
    buffer = io.BytesIO()
    PilImage.fromarray(synthetic.sample(kind, seed, TEAL, SIZE).image).save(buffer, format="PNG")
    return buffer.getvalue()


def _inspect(api: TestClient, serial: str, photo: bytes) -> Any:
    response = api.post(f"/api/v1/units/{serial}/inspections", files={"image": ("u.png", photo, "image/png")})
    assert response.status_code == 201, response.text
    return response.json()


def _by_kind(view: Any) -> dict[str, Any]:
    return {check["inspector"]: check for check in view["checks"]}


def test_the_example_checks_pass_a_good_unit_and_catch_each_defect(
    api: TestClient, engine: Engine, examples: Path
) -> None:
    good, scratched, recoloured, misspelt = _made_units(engine, examples, 4)
    passed = _inspect(api, good, _photo("good", 1000))
    assert passed["verdict"] == "pass", passed
    assert set(_by_kind(passed)) == {"colour", "engraving", "variation"}
    assert _by_kind(passed)["variation"]["version"].startswith("variation-")

    scratch = _by_kind(_inspect(api, scratched, _photo("scratch", 1001)))
    assert scratch["variation"]["verdict"] == "fail"
    x, y, w, h = scratch["variation"]["findings"][0]["region"]
    assert w > 0 and h > 0 and 0 <= x < SIZE[0] and 0 <= y < SIZE[1]
    assert scratch["colour"]["verdict"] == scratch["engraving"]["verdict"] == "pass"

    colour = _inspect(api, recoloured, _photo("wrong_colour", 1000))
    assert colour["verdict"] == "fail" and _by_kind(colour)["colour"]["verdict"] == "fail"
    assert colour["ncr_id"] is not None

    text = _inspect(api, misspelt, _photo("wrong_text", 1001))
    assert text["verdict"] == "fail" and _by_kind(text)["engraving"]["verdict"] == "fail"
    assert _by_kind(text)["variation"]["verdict"] == "pass"  # the name plate is the engraving check's


def test_a_missing_model_is_a_409_naming_the_file(
    settings: Settings, engine: Engine, examples: Path, tmp_path: Path
) -> None:
    (serial,) = _made_units(engine, examples, 1)
    empty = settings.with_changes(quality_model_dir=str(tmp_path))
    with TestClient(create_app(empty, engine)) as client:
        client.headers["Authorization"] = "Bearer test-admin-token"
        files = {"image": ("u.png", _photo("good", 1000), "image/png")}
        response = client.post(f"/api/v1/units/{serial}/inspections", files=files)
    assert response.status_code == 409
    assert str(tmp_path / "kp-teal.npz") in response.text
