"""The admin app end to end: a real server, a real browser, only the public API between them."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.admin import browser
from tests.admin.conftest import PASSWORD, AdminSite

pytestmark = pytest.mark.live
XSS_NAME = "<img src=x onerror=alert(1)>"


def _signed_in(tab: browser.Watched, site: AdminSite, email: str | None = None) -> Page:
    browser.sign_in(tab.page, site.url, email or site.admin, PASSWORD)
    return tab.page


def _product(site: AdminSite, **fields: object) -> dict[str, object]:
    body = {"sku": f"E2E-{uuid.uuid4().hex[:8]}", "name": "E2E product", "price_cents": 1999,
            "stock": 50, **fields}  # fmt: skip
    response = site.api.post("/api/v1/products", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _customer_order(site: AdminSite, product_id: object, *, pay: bool = False) -> dict[str, object]:
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    site.api.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Buyer"}
    ).raise_for_status()
    token = site.api.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    address = {"name": "Buyer", "line1": "1 Main St", "city": "Springfield",
               "postal_code": "12345", "country": "US"}  # fmt: skip
    order = site.api.post(
        "/api/v1/orders", headers=headers,
        json={"shipping_address": address, "items": [{"product_id": product_id, "quantity": 2}]},
    )  # fmt: skip
    assert order.status_code == 201, order.text
    if pay:
        paid = site.api.post(
            f"/api/v1/orders/{order.json()['id']}/pay", headers=headers,
            json={"provider": "test", "token": "tok_visa"},
        )  # fmt: skip
        assert paid.status_code == 200, paid.text
        return dict(paid.json())
    return dict(order.json())


def test_sign_in_by_keyboard_keeps_tokens_out_of_storage(
    site: AdminSite, watched: browser.Watched
) -> None:
    page = watched.page
    page.goto(f"{site.url}/admin")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(site.admin)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    stored = page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""]
    for section in ("Sales, last 30 days", "Recent orders", "Top products", "Low stock"):
        expect(page.get_by_role("heading", name=section)).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Net sales per day"))).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Users")).to_be_visible()
    expect(page.get_by_test_id("live-mode")).to_have_text(re.compile("Live|Updating every"))
    site.shot(page, "dashboard")

    expect(page.get_by_role("heading", name="Dashboard")).to_be_focused()
    for _ in range(12):  # the navigation is reachable by keyboard alone
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent") == "Orders":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_focused()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto(f"{site.url}/admin#/orders")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()  # nothing was kept


def test_staff_see_no_admin_pages_and_customers_cannot_sign_in(
    site: AdminSite, watched: browser.Watched
) -> None:
    page = _signed_in(watched, site, site.staff)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Products")).to_be_visible()
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    expect(nav.get_by_role("link", name="Webhooks")).to_have_count(0)
    page.goto(f"{site.url}/admin#/users")
    expect(page.get_by_text("This page is for admins.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    email = f"shopper-{uuid.uuid4().hex[:6]}@example.com"
    site.api.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "S"}
    ).raise_for_status()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("for staff and admins")


def test_create_find_edit_and_conflict_from_a_second_tab(
    site: AdminSite, watched: browser.Watched, chromium: BrowserContext
) -> None:
    page = _signed_in(watched, site)
    name = f"Walnut desk organiser {uuid.uuid4().hex[:6]}"
    page.get_by_role("link", name="Products").click()
    page.get_by_role("button", name="New product").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("SKU").fill(f"DESK-{uuid.uuid4().hex[:6]}")
    page.get_by_label("Price (USD)").fill("24.50")
    page.get_by_label("Initial stock").fill("7")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_text(f"Created “{name}”.")).to_be_visible()

    page.get_by_role("link", name="Products").click()
    page.get_by_label("Search").fill(name.split()[-1])
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("$24.50")
    expect(page.get_by_role("row")).to_have_count(2)  # the header and the one match
    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Price").click()  # sort by price, cheapest first
    expect(page.get_by_role("columnheader", name=re.compile("Price"))).to_have_attribute(
        "aria-sort", "ascending"
    )
    site.shot(page, "products")
    page.get_by_label("Search").fill(name.split()[-1])
    row.get_by_role("link", name=name).click()

    page.get_by_label("Price (USD)").fill("26.00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    product_id = page.url.rsplit("/", 1)[1]
    assert site.api.get(f"/api/v1/products/{product_id}").json()["price_cents"] == 2600

    page.get_by_label("Change").fill("5")
    page.get_by_label("Reason").select_option("restock")
    page.get_by_label("Note").fill("delivery 42")
    page.get_by_role("button", name="Record movement").click()
    expect(page.get_by_text("Stock is now 12.")).to_be_visible()
    ledger = page.get_by_role("table").filter(has_text="Stock after")
    expect(ledger.get_by_role("row").nth(1)).to_contain_text("+5")
    expect(ledger.get_by_role("row").nth(1)).to_contain_text("delivery 42")

    other = browser.Watched(chromium.new_page())
    _signed_in(other, site)
    other.page.goto(page.url)
    page.get_by_label("Name").fill(f"{name} (tab one)")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    other.page.get_by_label("Price (USD)").fill("30.00")
    other.page.get_by_role("button", name="Save changes").click()
    expect(other.page.get_by_role("alert")).to_contain_text("Someone else changed this product")
    site.shot(other.page, "product-conflict")
    other.page.get_by_role("button", name="Load the latest version").click()
    expect(other.page.get_by_label("Name")).to_have_value(f"{name} (tab one)")
    expect(other.page.get_by_label("Price (USD)")).to_have_value("26.00")
    other.page.close()
    assert other.problems == []

    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_text(f"Deleted “{name} (tab one)”.")).to_be_visible()
    expect(page.get_by_role("heading", name="Products")).to_be_visible()
    assert site.api.get(f"/api/v1/products/{product_id}").status_code == 404


def test_csv_upload_shows_progress_to_the_end_and_the_bad_rows(
    site: AdminSite, watched: browser.Watched, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    csv = tmp_path / "products.csv"
    csv.write_text(
        "sku,name,description,price_cents,stock,category_slug,is_active\n"
        f"IMP-{tag}-1,Imported lamp {tag},,1500,3,,true\n"
        f"IMP-{tag}-2,Imported rug {tag},,9900,1,,true\n"
        f"IMP-{tag}-3,Broken price {tag},,twelve,1,,true\n"
        f"IMP-{tag}-4,Imported vase {tag},,2500,8,,false\n"
    )
    page = _signed_in(watched, site)
    page.get_by_role("link", name="Imports & exports").click()
    page.get_by_label("CSV or NDJSON file").set_input_files(str(csv))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_test_id("import-status")).to_have_text("succeeded", timeout=30_000)
    progress = page.locator("#import-progress")
    expect(progress.locator("[data-count=created]")).to_have_text("3")
    expect(progress.locator("[data-count=failed]")).to_have_text("1")
    expect(progress.get_by_role("row").filter(has_text="price_cents")).to_contain_text("4")
    expect(page.get_by_role("table").filter(has_text="products.csv")).to_contain_text("3 / 0 / 1")
    site.shot(page, "imports")

    with page.expect_download() as download:
        page.get_by_role("button", name="Products (CSV)").click()
    assert f"IMP-{tag}-2" in Path(download.value.path()).read_text()


def test_a_new_order_appears_on_the_dashboard_without_reloading(
    site: AdminSite, watched: browser.Watched
) -> None:
    page = _signed_in(watched, site)
    page.evaluate("window.__sameDocument = true")
    expect(page.get_by_test_id("live-mode")).to_have_text(re.compile("Live|Updating every"))
    product = _product(site, name="Live order lamp")
    order = _customer_order(site, product["id"])
    recent = page.locator("#recent-orders")
    expect(recent.get_by_role("link", name=str(order["number"]))).to_be_visible(timeout=20_000)
    assert page.evaluate("window.__sameDocument") is True


def test_html_in_a_product_name_renders_as_text(site: AdminSite, watched: browser.Watched) -> None:
    product = _product(
        site, name=XSS_NAME, description="<script>alert(2)</script><b>bold</b>", stock=1
    )
    page = _signed_in(watched, site)
    low_stock = page.get_by_role("table").filter(has_text="Stock").last
    expect(page.get_by_role("link", name=XSS_NAME).first).to_be_visible()
    expect(low_stock).to_contain_text(XSS_NAME)
    page.get_by_role("link", name="Products").click()
    page.get_by_label("Search").fill("onerror")
    link = page.get_by_role("link", name=XSS_NAME)
    expect(link).to_have_text(XSS_NAME)
    link.click()
    expect(page.get_by_role("heading", name=XSS_NAME)).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value(XSS_NAME)
    expect(page.get_by_label("Description")).to_have_value(str(product["description"]))
    assert page.locator("img").count() == 0  # no element was made from the name
    assert page.locator("main script, main b").count() == 0
    page.wait_for_timeout(300)  # an onerror would have fired by now
    assert watched.dialogs == []


def test_order_detail_offers_the_allowed_transitions(
    site: AdminSite, watched: browser.Watched
) -> None:
    product = _product(site, name="Ship-me kettle", price_cents=4500)
    order = _customer_order(site, product["id"], pay=True)
    page = _signed_in(watched, site)
    page.get_by_role("link", name="Orders").click()
    page.get_by_label("Status").select_option("paid")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name=str(order["number"]))).to_be_visible()
    site.shot(page, "orders")
    page.get_by_role("link", name=str(order["number"])).click()
    actions = page.get_by_role("group", name="Order actions")
    expect(actions.get_by_role("button")).to_have_text(["Cancel order"])
    expect(page.get_by_role("table")).to_contain_text("Ship-me kettle")
    expect(page.locator(".totals-list")).to_contain_text("$90.00")
    page.get_by_label("Carrier").fill("DHL")
    page.get_by_label("Tracking number").fill("JD0001")
    page.get_by_role("button", name="Mark shipped").click()
    expect(page.locator(".page-head .badge")).to_have_text("shipped")
    expect(actions.get_by_role("button")).to_have_text(["Mark delivered", "Refund"])
    expect(page.locator(".history")).to_contain_text("paid → shipped")
    site.shot(page, "order")
    page.get_by_role("button", name="Refund").click()
    page.get_by_role("dialog").get_by_role("button", name="Refund").click()
    expect(page.locator(".page-head .badge")).to_have_text("refunded")
    expect(actions.get_by_role("button")).to_have_count(0)


def test_coupons_users_and_webhooks(site: AdminSite, watched: browser.Watched) -> None:
    page = _signed_in(watched, site)
    page.get_by_role("link", name="Coupons").click()
    code = f"SPRING{uuid.uuid4().hex[:4].upper()}"
    page.get_by_label("Code").fill(code)
    page.get_by_label("Value").fill("15")
    page.get_by_role("button", name="Create coupon").click()
    row = page.get_by_role("row").filter(has_text=code)
    expect(row).to_contain_text("15 % off")
    row.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("row").filter(has_text=code)).to_contain_text("inactive")
    site.shot(page, "coupons")

    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("row").filter(has_text=site.staff)).to_contain_text("staff")
    page.get_by_label("Email").fill("new.staff@example.com")
    page.get_by_label("Full name").fill("New Staff")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("[data-error-for=password]")).not_to_be_empty()
    site.shot(page, "users")

    page.get_by_role("link", name="Webhooks").click()
    if site.api.get("/api/v1/webhooks").status_code == 404:  # a server without webhooks
        expect(page.get_by_text("Webhooks are not available on this server.")).to_be_visible()
        site.shot(page, "webhooks")
        return
    page.get_by_label("URL").fill("http://127.0.0.1:9/hooks")
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_label("Signing secret")).to_have_value(re.compile("^whsec_"))
    row = page.get_by_role("row").filter(has_text="http://127.0.0.1:9/hooks")
    expect(row).to_contain_text("*")
    site.shot(page, "webhooks")
    row.get_by_role("link", name="Deliveries").click()
    expect(page.get_by_role("heading", name="Webhook deliveries")).to_be_visible()
    expect(page.get_by_text("http://127.0.0.1:9/hooks")).to_be_visible()


def test_readable_on_a_phone(site: AdminSite, watched: browser.Watched) -> None:
    page = watched.page
    page.set_viewport_size(browser.PHONE)
    _signed_in(watched, site)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Products")).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav.get_by_role("link", name="Products")).to_be_visible()
    page.get_by_role("button", name="Menu").click()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    site.shot(page, "phone-dashboard")


def test_dashboard_follows_the_event_stream_and_resumes_it(
    site: AdminSite, watched: browser.Watched
) -> None:
    # The client side of GET /events (API.md): the browser's request interception plays
    # the server's part, so this runs whether or not this server has the endpoint yet.
    product = _product(site, name="Streamed lamp")
    order = _customer_order(site, product["id"])
    event = json.dumps({"id": "41", "type": "order.created", "timestamp": "2026-11-26T04:00:00Z",
                        "data": {"id": order["id"]}}, indent=1)  # fmt: skip
    seen: list[dict[str, str]] = []

    def stream(route: Route) -> None:
        seen.append(route.request.headers)
        if len(seen) > 2:  # enough: from now on the server "has no stream"
            route.fulfill(status=404, content_type="application/problem+json", body="{}")
            return
        data = "".join(f"data: {line}\n" for line in event.splitlines())  # multi-line data
        body = f"retry: 200\n\n: heartbeat\n\nid: 41\nevent: order.created\n{data}\n"
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)

    page = watched.page
    page.route("**/api/v1/events*", stream)
    _signed_in(watched, site)
    expect(page.get_by_test_id("live-mode")).to_have_text(re.compile("Updating every"))
    first, second = seen[0], seen[1]
    assert first["authorization"].startswith("Bearer ")
    assert first["accept"] == "text/event-stream"
    assert "last-event-id" not in first
    assert second["last-event-id"] == "41"
    recent = page.locator("#recent-orders")
    expect(recent.get_by_role("link", name=str(order["number"]))).to_be_visible()


def test_event_stream_parser(site: AdminSite, watched: browser.Watched) -> None:
    page = _signed_in(watched, site)
    parsed = page.evaluate(
        """async () => {
          const { feed } = await import("/admin/assets/js/sse.js");
          const out = [];
          const state = { message: { data: [], event: "message" }, lastId: null, retry: null };
          const lines = [": comment", "retry: 1500", "id: 7", "event: order.paid",
            "data: {\\"a\\":", "data:1}", "", "data", "",
            "id: bad\\u0000id", "data: x", "", "retry: soon", ""];
          for (const line of lines) feed(state, line, (message) => out.push(message));
          return { out, retry: state.retry, lastId: state.lastId };
        }"""
    )
    assert parsed["out"] == [
        {"id": "7", "event": "order.paid", "data": '{"a":\n1}'},
        {"id": "7", "event": "message", "data": ""},
        {"id": "7", "event": "message", "data": "x"},
    ]
    assert parsed["retry"] == 1500
    assert parsed["lastId"] == "7"
