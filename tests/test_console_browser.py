"""The console in a real headless Chromium against the app served on loopback: an
organiser logs in, follows an event while signed webhooks arrive, downloads its data;
a designer holds a whole conversation in the simulator, moves the clock, edits the flow
file and plays the new flow. Screenshots of every page go to test-artifacts/console/."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from console_support import CONSOLE_TOKEN, browser, console_app, screenshot  # noqa: F401 (fixtures)
from webhook_support import message_form, wait_for

PARTICIPANT = "+15550001001"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def context(browser):  # noqa: F811
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def page(context):
    return context.new_page()


def send(app, sid: str, body: str, sender: str = PARTICIPANT) -> None:
    response = app.post("/message", message_form(sid, sender, body))
    assert response.status_code == 200
    wait_for(lambda: app.settled([sid]), what=f"{sid} to be processed")


def figure(page, name: str) -> str:
    return page.inner_text(f"#live [data-figure={name}]").strip()


def highlighted(page) -> str:
    """The name in the diagram's highlighted state box."""
    page.wait_for_function("document.querySelector('#diagram svg .current .name') !== null")
    return (page.locator("#diagram svg .current .name").text_content() or "").strip()


def test_login_then_events_and_an_event_page_follow_webhooks(page, console_app):  # noqa: F811
    page.goto(console_app.url + "/console/events/CLIMATE24")
    assert "/console/login" in page.url
    screenshot(page, "01-login")
    page.fill("#token", "not-the-token")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().startswith("That is not the console token")
    page.fill("#token", CONSOLE_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/events/CLIMATE24")

    assert figure(page, "participants") == "0"
    assert page.inner_text("#feed-empty") == "Nothing yet."
    send(console_app, "SMweb0001", "hi, I'm at CLIMATE24")
    page.wait_for_function("document.querySelector('#live [data-figure=participants]').textContent === '1'")
    page.wait_for_selector("#feed li")
    assert "hi, I'm at CLIMATE24" in page.inner_text("#feed")
    assert "+155******01" in page.inner_text("#feed")
    assert PARTICIPANT not in page.content()
    assert figure(page, "messages_in") == "1"

    for sid, body in [("SMweb0002", "Ada"), ("SMweb0003", "34"), ("SMweb0004", "female"), ("SMweb0005", "Bristol"),
                      ("SMweb0006", "More bike lanes please")]:
        send(console_app, sid, body)
    page.wait_for_function("document.querySelector('#live [data-figure=messages_in]').textContent === '6'")
    assert "More bike lanes please" in page.inner_text("#feed")
    page.reload()
    table = page.inner_text("#participants")
    assert "+155******01" in table and "listening" in table
    headers = page.locator("#participants th").all_inner_texts()
    assert headers == ["Number", "name", "age", "gender", "region", "State", "Last message"]
    cells = {key: page.inner_text(f"#participants td[data-answer={key}]") for key in ("name", "age", "gender", "region")}
    assert cells == {"name": "Ada", "age": "34", "gender": "female", "region": "Bristol"}
    screenshot(page, "02-event")

    page.goto(console_app.url + "/console")
    card = page.locator("[data-event=CLIMATE24]")
    assert card.locator("[data-figure=participants]").inner_text() == "1"
    assert card.locator("[data-figure=messages_last_hour]").inner_text() == "6"
    screenshot(page, "03-events")


def _download(page, fmt: str) -> str:
    with page.expect_download() as info:
        page.click(f"[data-export={fmt}]")
    download = info.value
    assert download.suggested_filename.startswith("CLIMATE24")
    return Path(download.path()).read_text(encoding="utf-8")


def test_each_export_downloads_with_its_first_row(page, console_app):  # noqa: F811
    page.goto(console_app.url + "/console/events/CLIMATE24")

    rows = list(csv.DictReader(io.StringIO(_download(page, "csv"))))
    assert rows[0]["id"] == "SMweb0001" and rows[0]["direction"] == "in" and rows[0]["text"] == "hi, I'm at CLIMATE24"
    assert rows[0]["participant"].startswith("p-")

    first = json.loads(_download(page, "jsonl").splitlines()[0])
    assert (first["id"], first["event"], first["text"]) == ("SMweb0001", "CLIMATE24", "hi, I'm at CLIMATE24")

    tttc = list(csv.DictReader(io.StringIO(_download(page, "tttc"))))
    assert len(tttc) == 1
    assert tttc[0]["comment-body"] == "More bike lanes please"
    assert (tttc[0]["interview"], tttc[0]["age"], tttc[0]["region"]) == ("Ada", "34", "Bristol")


def _say(page, text: str, voice: bool = False) -> None:
    page.fill("#message", text)
    page.click("#send-voice" if voice else "#send")
    page.wait_for_function("document.getElementById('message').value === ''")


def _state_becomes(page, state: str) -> None:
    page.wait_for_function(f"document.getElementById('diagram').dataset.state === {json.dumps(state)}")
    assert highlighted(page) == state
    assert page.inner_text("#sim-state") == state


def test_simulator_onboarding_follows_the_diagram_and_25_hours_bring_the_prompt(page, console_app):  # noqa: F811
    page.goto(console_app.url + "/console/simulator")
    page.wait_for_selector("#diagram svg")
    assert highlighted(page) == "new"

    _say(page, "hi, I'm at CLIMATE24")
    _state_becomes(page, "asking_name")
    assert "What's your name?" in page.inner_text("#chat")
    for answer, state in [("Grace", "asking_age"), ("41", "asking_gender"), ("non-binary", "asking_region"),
                          ("Bath", "listening")]:
        _say(page, answer)
        _state_becomes(page, state)
    _say(page, "we need more trees", voice=True)
    assert "(voice note) we need more trees" in page.inner_text("#chat")
    _say(page, "change event TOWNHALL")
    _state_becomes(page, "confirming_event_change")
    _say(page, "yes")
    _state_becomes(page, "listening")  # her name carried over: Town Hall asks nothing more
    screenshot(page, "04-simulator")

    page.click("#wait")
    page.wait_for_function("!document.getElementById('wait').disabled")
    _say(page, "hello again")
    _state_becomes(page, "choosing_event")
    assert "Which event" in page.locator("#chat li.bot").last.inner_text()
    _say(page, "1")
    _state_becomes(page, "listening")
    screenshot(page, "05-simulator-after-25h")

    # the simulated participant never reached the deployment's records
    numbers = {snapshot.participant for snapshot in console_app.store.iter_participants()}
    assert numbers == {PARTICIPANT}
    assert all(item.participant == PARTICIPANT for item in console_app.store.iter_interactions())


def test_a_designer_edits_the_flow_reloads_and_plays_it(page, console_app):  # noqa: F811
    page.goto(console_app.url + "/console/simulator")
    flow_file: Path = console_app.flow_file
    original = flow_file.read_text()
    asked = 'en: "What\'s your name? (You can also say \\"anonymous\\".)"'
    assert asked in original
    try:
        flow_file.write_text(original.replace(asked, 'en: "Who are you, then?"'))
        page.click("#reload")
        page.click("#start-over")
        page.wait_for_function("document.querySelectorAll('#chat li').length === 0")
        _say(page, "hi, I'm at TOWNHALL")
        _state_becomes(page, "asking_name")
        assert page.locator("#chat li.bot").last.inner_text().endswith("Who are you, then?")

        flow_file.write_text(original.replace("initial: new", "initial: nowhere"))
        page.click("#reload")
        page.wait_for_selector("#sim-error:not([hidden])")
        assert "The flow file has a problem" in page.inner_text("#sim-error")
        assert "nowhere" in page.inner_text("#sim-error")
        screenshot(page, "06-simulator-flow-error")
    finally:
        flow_file.write_text(original)  # the later tests play the shipped flow


DRAWING_INSIDE_FRAME = """() => {
    const frame = document.getElementById("diagram").getBoundingClientRect();
    const drawing = document.querySelector("#diagram svg .viewport").getBoundingClientRect();
    return {frame: [frame.left, frame.top, frame.right, frame.bottom],
            drawing: [drawing.left, drawing.top, drawing.right, drawing.bottom, drawing.width]};
}"""


def _inside(page) -> dict:
    box = page.evaluate(DRAWING_INSIDE_FRAME)
    left, top, right, bottom = box["frame"]
    d_left, d_top, d_right, d_bottom, _ = box["drawing"]
    assert left - 1 <= d_left and d_right <= right + 1 and top - 1 <= d_top and d_bottom <= bottom + 1, box
    assert d_right - d_left > (right - left) * 0.5 or d_bottom - d_top > (bottom - top) * 0.5, f"fitted but tiny: {box}"
    return box


def _fits_and_zooms(page, name: str) -> None:
    page.wait_for_selector("#diagram svg .viewport")
    before = _inside(page)
    screenshot(page, name)
    page.click("[data-zoom=in]")
    zoomed = page.evaluate(DRAWING_INSIDE_FRAME)
    assert zoomed["drawing"][4] == pytest.approx(before["drawing"][4] * 1.25, rel=0.02)
    assert page.get_attribute("#diagram", "data-zoom") == "1.250"
    page.click("[data-zoom=out]")
    page.click("[data-zoom=out]")
    assert page.evaluate(DRAWING_INSIDE_FRAME)["drawing"][4] == pytest.approx(before["drawing"][4] / 1.25, rel=0.02)
    page.click("[data-zoom=fit]")
    assert page.evaluate(DRAWING_INSIDE_FRAME)["drawing"][4] == pytest.approx(before["drawing"][4], rel=0.01)


def test_flow_page_fits_its_frame_and_zooms_on_a_desktop_and_a_phone(browser, console_app):  # noqa: F811
    for viewport, name, mobile in (({"width": 1280, "height": 800}, "07-flow-desktop", False),
                                   ({"width": 390, "height": 844}, "07-flow-phone", True)):
        context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile)
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(console_app.url + "/console/login?next=/console/flow")
            page.fill("#token", CONSOLE_TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url("**/console/flow")
            _fits_and_zooms(page, name)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"the flow page is {width}px wide in a {viewport['width']}px window"
        finally:
            context.close()


def _fired(page) -> dict[tuple[str, str, str], int]:
    """Every transition on the drawing, (from, to, words) -> how often it fired."""
    return {
        (item["from"], item["to"], item["words"]): item["fired"]
        for item in page.evaluate("""() => Array.from(document.querySelectorAll("#diagram svg text[data-keys]")).map(text => ({
            from: text.closest("g.label").dataset.from, to: text.closest("g.label").dataset.to,
            words: Array.from(text.querySelectorAll(".words")).map(part => part.textContent.trim()).join(" "),
            fired: Number(text.dataset.fired)}))""")
    }


def test_flow_page_counts_each_transition_a_conversation_takes(page, console_app):  # noqa: F811
    page.goto(console_app.url + "/console/flow")
    before = _fired(page)
    assert before, "no transition on the drawing"
    script = ["hello", "OLDFAIR", "TOWNHALL", "stop", "start", "Grace", "finish", "change name Ada"]
    for index, body in enumerate(script):
        send(console_app, f"SMcount{index:04d}", body, sender="+15550001002")
    page.reload()
    after = _fired(page)
    taken = {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}
    assert taken == {
        ("new", "awaiting_event_id", "message"): 1,
        ("before_event", "awaiting_event_id", "message: closed event named"): 1,
        ("before_event", "routing", "message: open event named"): 1,
        ("routing", "questions", "still to ask <key>"): 2,
        ("*", "opted_out", "stop"): 1,
        ("opted_out", "routing", "start"): 1,
        ("questions", "routing", "message: answer understood"): 1,
        ("routing", "listening", "not welcomed yet and not finished"): 1,
        ("joined", "listening", "finish"): 1,
        ("joined", "routing", "change_name: new name given"): 1,
        ("routing", "listening", "otherwise"): 1,
    }
    rows = {(row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text(), row.locator("td").nth(2).inner_text()):
            int(row.locator("td").nth(3).inner_text()) for row in page.locator("#arrow-counts tbody tr").all()}
    assert rows == after, "the table and the drawing disagree"
    resting = page.locator("#diagram svg [data-state=listening] .resting").get_attribute("data-resting")
    counts = dict((row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text())
                  for row in page.locator("#state-counts tbody tr").all())
    assert resting == counts["listening"] == "2"
    screenshot(page, "07-flow-with-numbers")


def test_a_state_links_to_its_line_in_the_flow_file(page, console_app):  # noqa: F811
    page.goto(console_app.url + "/console/flow")
    link = page.locator("#diagram svg [data-state=opted_out] a")
    where = link.text_content() or ""
    assert where.startswith("transitions.yaml:")
    line = where.split(":")[1]
    link.click()
    page.wait_for_url(f"**/console/flow/source#L{line}")
    assert page.locator(f"#L{line}").inner_text().strip() == "- name: opted_out"
    screenshot(page, "07-flow-source-line")


def test_errors_are_pages_and_the_console_fits_a_phone(browser, page, console_app):  # noqa: F811
    response = page.goto(console_app.url + "/console/events/NO-SUCH-EVENT")
    assert response.status == 404
    assert page.inner_text("h1") == "Nothing here"
    assert "NO-SUCH-EVENT" in page.inner_text("main")
    assert "Traceback" not in page.content()
    screenshot(page, "08-not-found")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        mobile = phone.new_page()
        mobile.goto(console_app.url + "/console/login?next=/console/events/CLIMATE24")
        mobile.fill("#token", CONSOLE_TOKEN)
        mobile.click("button[type=submit]")
        mobile.wait_for_url("**/console/events/CLIMATE24")
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the event page is {width}px wide on a 390px phone"
        screenshot(mobile, "09-event-on-a-phone")
        mobile.keyboard.press("Tab")
        assert mobile.evaluate("document.activeElement.textContent") == "Skip to content"
    finally:
        phone.close()
