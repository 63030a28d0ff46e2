"""Recording inspections through the API: bad uploads named (422/413), roles, the sampling plan,
a person's verdict after review, and the unit trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from microfactory.api.app import create_app
from microfactory.config import Settings
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.quality.recording import serials_of_work_order
from tests.integration.production.berlin_work import NOW, make_work_order, release
from tests.integration.quality.scripted import ordered_and_accepted, png
from tests.integration.quality.test_quality_flow import _token


def _made_unit(engine: Engine, examples: Path, checks: list[dict[str, Any]] | None = None) -> str:
    _, work_order = ordered_and_accepted(engine, examples, checks)
    release(engine, NOW)
    make_work_order(engine, work_order, NOW)
    with UnitOfWork.for_engine(engine) as uow:
        return serials_of_work_order(uow, work_order)[0]


def test_bad_uploads_are_named_and_roles_are_kept(client: TestClient, engine: Engine, examples: Path) -> None:
    serial = _made_unit(engine, examples)
    path = f"/api/v1/units/{serial}/inspections"
    text = client.post(path, files={"image": ("unit.png", b"not an image at all", "image/png")})
    assert text.status_code == 422 and text.json()["problems"][0]["path"] == "image"
    assert "not an image" in text.json()["problems"][0]["message"]
    empty = client.post(path, files={"image": ("unit.png", b"", "image/png")})
    assert empty.status_code == 422 and "empty" in empty.json()["problems"][0]["message"]
    missing = client.post(path, data={"station": "x"})
    assert missing.status_code == 422
    unknown = client.post(
        "/api/v1/units/MF-NOPE/inspections", files={"image": ("u.png", png(False), "image/png")}
    )
    assert unknown.status_code == 404
    planner = _token(client, "planner")
    assert planner.post(path, files={"image": ("u.png", png(False), "image/png")}).status_code == 403
    lyon = _token(client, "site", "lyon")  # another site of the network
    assert lyon.post(path, files={"image": ("u.png", png(False), "image/png")}).status_code == 403
    integration = _token(client, "integration")
    assert integration.get("/api/v1/ncrs").status_code == 403
    plan = client.get(f"/api/v1/units/{serial}/inspection-plan").json()
    assert plan["inspect"] is True and [c["inspector"] for c in plan["checks"]] == [
        "scripted"
    ]  # no engraving


def test_an_oversized_image_is_413(settings: Settings, engine: Engine, examples: Path) -> None:
    serial = _made_unit(engine, examples)
    small = settings.with_changes(quality_image_max_bytes=2048)
    with TestClient(create_app(small, engine)) as api:
        api.headers["Authorization"] = "Bearer test-admin-token"
        big = png(True, size=(400, 400)) + b"\0" * 4096
        answer = api.post(f"/api/v1/units/{serial}/inspections", files={"image": ("u.png", big, "image/png")})
        assert answer.status_code == 413 and "limit of 2048" in answer.json()["error"]
        fine = api.post(
            f"/api/v1/units/{serial}/inspections", files={"image": ("u.png", png(False), "image/png")}
        )
        assert fine.status_code == 201, fine.text


def test_a_review_holds_until_a_persons_verdict(client: TestClient, engine: Engine, examples: Path) -> None:
    serial = _made_unit(engine, examples, checks=[{"inspector": "manual"}])
    looked = client.post(
        f"/api/v1/units/{serial}/inspections", files={"image": ("u.png", png(False), "image/png")}
    )
    assert looked.json()["verdict"] == "review" and looked.json()["work_order_status"] == "held"
    note_missing = client.post(f"/api/v1/units/{serial}/inspections/manual", json={"verdict": "fail"})
    assert note_missing.status_code == 409 and "note" in note_missing.json()["error"]
    judged = client.post(
        f"/api/v1/units/{serial}/inspections/manual", json={"verdict": "pass", "station": "bench"}
    )
    assert judged.status_code == 201 and judged.json()["work_order_status"] == "made"
    trace = client.get(f"/api/v1/units/{serial}").json()
    assert [(i["verdict"], i["manual"]) for i in trace["inspections"]] == [("review", False), ("pass", True)]
