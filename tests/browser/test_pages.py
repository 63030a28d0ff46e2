"""The operator's pages in a real browser: log in and out, fix a line, read a trace, work a station,
and the limits of a site operator and of a forged form."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.seed import World


def test_log_in_and_out(page: Any) -> None:
    page.goto("/orders")
    expect(page).to_have_url(re.compile(r"/login\?next=/orders$"))
    log_in(page, "pat", here=True)
    expect(page).to_have_url(re.compile(r"/orders$"))  # back where they were going
    expect(page.get_by_role("heading", level=1)).to_have_text("Orders")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    page.goto("/orders")
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_wrong_password_and_an_unknown_user_read_the_same(page: Any) -> None:
    answers = []
    for username, password in (("pat", "not the password"), ("nobody", "not the password")):
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as sent:
            page.get_by_role("button", name="Log in").click()
        answers.append((sent.value.status, page.get_by_role("alert").inner_text()))
    assert answers == [(401, "Wrong username or password.")] * 2
    expect(page.get_by_label("Password")).to_be_visible()  # still on the form, not let in


def test_fix_and_release_a_needs_attention_line(page: Any, world: World) -> None:
    log_in(page, "pat")
    page.goto("/needs-attention")
    line = page.locator(f"#line-{world.attention_line}")
    expect(line.get_by_role("list", name="Problems")).to_contain_text(
        "options.keys: 100 is not one of 4, 8, 12"
    )
    line.get_by_label("Option keys").fill("8")
    line.get_by_role("button", name="Correct and release").click()
    expect(page.get_by_role("status")).to_have_text(f"Line {world.attention_line} corrected and released.")
    expect(page.locator(f"#line-{world.attention_line}")).to_have_count(0)
    page.goto(f"/orders/{world.attention_order}")
    expect(page.get_by_role("heading", level=2).first).to_contain_text("released")
    expect(page.locator(".history")).to_contain_text("needs_attention → released")


def test_read_an_orders_trace(page: Any, world: World) -> None:
    log_in(page, "pat")
    page.goto("/orders")
    page.get_by_label("Search (order id, store id, customer name)").fill(world.made_order)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=world.made_order).click()
    main = page.locator("main")
    expect(main.get_by_role("heading", name="Site and why")).to_be_visible()
    expect(main).to_contain_text("berlin")
    expect(main).to_contain_text("products.KP")  # the catalog rule that put a part on the BOM
    expect(main).to_contain_text("ber-fdm")  # a machine of the plan
    expect(main).to_contain_text(world.serial)
    expect(main.locator(".history")).to_contain_text("in_progress")
    expect(main.locator(".history")).to_contain_text("made")


def test_confirm_a_manual_operation_on_a_tablet(page: Any) -> None:
    log_in(page, "bea")
    expect(page).to_have_url(re.compile(r"/sites/berlin$"))
    assert page.viewport_size == {"width": 1024, "height": 768}
    start = page.locator("#stations").get_by_role("button", name=re.compile(r"^Start ")).first
    box = start.bounding_box()
    assert box["height"] >= 48 and box["width"] >= 160, box  # a target a finger hits
    assert box["x"] + box["width"] <= 1024  # no sideways scrolling at the bench
    step = start.inner_text().removeprefix("Start ")
    start.click()
    expect(page.get_by_role("status")).to_contain_text(f"{step} (")
    expect(page.get_by_role("status")).to_contain_text("started.")
    finish = page.locator("#stations").get_by_role("button", name=f"Finish {step}")
    expect(finish).to_be_visible()
    finish.first.click()
    expect(page.get_by_role("status")).to_contain_text("finished.")


def test_a_site_operator_sees_and_acts_on_their_own_site_only(page: Any, world: World) -> None:
    log_in(page, "leo")
    expect(page).to_have_url(re.compile(r"/sites/lyon$"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Site lyon")).to_be_visible()
    expect(nav.get_by_role("link", name=re.compile("berlin", re.I))).to_have_count(0)
    for path in ("/sites/berlin", f"/orders/{world.made_order}", "/orders", "/sites/berlin/live"):
        answer = page.goto(path)
        assert answer.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    page.goto("/sites/lyon")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    status = page.evaluate(
        """async ([url, token]) => (await fetch(url, {method: "POST", body: new URLSearchParams({csrf_token: token})})).status""",
        [f"/operations/{world.berlin_operation}/start", token],
    )
    assert status == 403  # a valid form of Lyon's operator, for Berlin's work


def test_a_form_without_its_token_is_refused(page: Any) -> None:
    log_in(page, "pat")
    page.goto("/needs-attention")
    page.goto("/logout")
    page.locator("main input[name=csrf_token]").evaluate("input => input.value = 'forged'")
    with page.expect_response(lambda r: r.url.endswith("/logout") and r.request.method == "POST") as sent:
        page.get_by_role("button", name=re.compile("^Log out pat")).click()
    assert sent.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("security token")
    page.goto("/orders")
    expect(page).to_have_url(re.compile(r"/orders$"))  # the forged logout changed nothing
