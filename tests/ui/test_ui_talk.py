"""Talk time and wait time in the review app: a lesson recorded with real
synthesised speech, analysed on demand, shown only to its recipients."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from appliance import age
from appliance.camera import SimulatedCamera
from appliance.catalogue import Catalogue
from appliance.footage.recorder import SegmentRecorder
from tests.support import talk_synth
from ui import create_app
from ui.config import TestingConfig
from ui_helpers import ADMIN_PASSWORD, csrf_of, login_admin, unlock



@pytest.fixture(scope="module")
def lesson():
    return talk_synth.synthesize()


@pytest.fixture(scope="module")
def talk_kit(kit_template, lesson, tmp_path_factory):
    """The UI template plus a recording of Anna + Bram with a spoken lesson."""
    data_dir = tmp_path_factory.mktemp("talk-kit") / "data"
    shutil.copytree(kit_template.data_dir, data_dir)
    catalogue = Catalogue(data_dir / "catalogue.db")
    anna, bram = kit_template.people["Anna"], kit_template.people["Bram"]
    recipients = [anna["recipient"], bram["recipient"]]
    row = catalogue.create_recording(anna["id"], bram["id"], recipients)
    enough = threading.Event()

    def on_segment(seg) -> None:
        catalogue.add_segment(row["id"], seg.index, seg.start_s, seg.duration_s, seg.bytes)
        if seg.index > 0 and seg.start_s + seg.duration_s >= lesson.duration_s:
            enough.set()

    camera = SimulatedCamera(160, 96, fps=15, realtime=False, audio_samples=talk_synth.to_48k(lesson.pcm))
    recorder = SegmentRecorder(camera, segment_seconds=2.0)
    recorder.start(data_dir / "recordings" / row["id"], [age.parse_recipient(r) for r in recipients],
                   on_segment=on_segment)
    assert enough.wait(300)
    recorder.stop()
    catalogue.finish_recording(row["id"])
    catalogue.close()
    return data_dir, row["id"], kit_template


@pytest.fixture(scope="module")
def talk_app(talk_kit):
    data_dir, _rec, _kit = talk_kit
    app = create_app(controller=None, data_dir=data_dir, config=TestingConfig(admin_password=ADMIN_PASSWORD))
    app.testing = True
    return app


def person(app, kit, name):
    c = app.test_client()
    unlock(c, kit, name)
    c.csrf = csrf_of(c)
    return c


@pytest.fixture(scope="module")
def analysed(talk_app, talk_kit, lesson):
    data_dir, rec, kit = talk_kit
    anna = person(talk_app, kit, "Anna")
    first = anna.get(f"/api/recordings/{rec}/talk").get_json()
    assert first["state"] == "none" and first["segments"] == []
    for q in lesson.questions:
        r = anna.post(f"/api/recordings/{rec}/codes", json={"t": q["t"], "kind": "question", "category": q["category"]},
                      headers={"X-CSRF-Token": anna.csrf})
        assert r.status_code == 201
        q["code_id"] = r.get_json()["id"]
    r = anna.post(f"/api/recordings/{rec}/talk", headers={"X-CSRF-Token": anna.csrf})
    assert r.status_code == 202 and r.get_json()["state"] in ("pending", "done")
    assert talk_app.extensions["kit_talk"].wait(600)
    return anna


def test_the_analysis_runs_on_demand_and_is_sealed(analysed, talk_kit, lesson):
    data_dir, rec, kit = talk_kit
    body = analysed.get(f"/api/recordings/{rec}/talk").get_json()
    assert body["state"] == "done", body
    truth = lesson.true_totals()
    assert body["totals"]["near_s"] == pytest.approx(truth["near_s"], rel=0.10)
    assert body["totals"]["far_s"] == pytest.approx(truth["far_s"], rel=0.10)
    assert {s["voice"] for s in body["segments"]} == {"near", "far"}
    assert set(body["segments"][0]) == {"start_s", "end_s", "voice", "confidence", "corrected"}
    assert not any(seg["corrected"] for seg in body["segments"])
    by_code = {w["code_id"]: w for w in body["wait_times"]}
    for q in lesson.questions:
        assert abs(by_code[q["code_id"]]["wait_s"] - q["true_wait_s"]) <= 0.3
    sealed = data_dir / "recordings" / rec / "talk.json.age"
    assert sealed.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert all(p.name.endswith(".age") for p in (data_dir / "recordings" / rec).iterdir())


def test_the_api_gives_wait_time_2_answers_and_categories(analysed, talk_kit, lesson):
    data_dir, rec, kit = talk_kit
    body = analysed.get(f"/api/recordings/{rec}/talk").get_json()
    by_code = {w["code_id"]: w for w in body["wait_times"]}
    for q in lesson.questions:
        w = by_code[q["code_id"]]
        assert abs(w["answer_s"] - q["true_answer_s"]) <= 0.3, (w, q)
        assert abs(w["wait2_s"] - q["true_wait2_s"]) <= 0.3, (w, q)
    assert body["median_answer_s"] is not None and body["mean_wait2_s"] is not None
    cats = {c["category"]: c for c in body["by_category"]}
    for cat in (1, 2, 3):
        mine = [q for q in lesson.questions if q["category"] == cat]
        assert cats[cat]["questions"] == len(mine)
        assert cats[cat]["total_wait_s"] == pytest.approx(sum(q["true_wait_s"] for q in mine),
                                                          abs=0.3 * len(mine) + 1e-9)
    assert body["window"] is None and len(body["windows"]) == 1  # a lesson of about a minute
    assert body["windows"][0]["near_s"] == body["totals"]["near_s"]


def test_the_coach_sees_it_others_do_not(analysed, talk_app, talk_kit):
    data_dir, rec, kit = talk_kit
    bram = person(talk_app, kit, "Bram")
    assert bram.get(f"/api/recordings/{rec}/talk").get_json()["state"] == "done"
    cor = person(talk_app, kit, "Cor")
    assert cor.get(f"/api/recordings/{rec}/talk").status_code == 404
    assert cor.post(f"/api/recordings/{rec}/talk", headers={"X-CSRF-Token": cor.csrf}).status_code == 404
    admin = talk_app.test_client()
    login_admin(admin)
    assert admin.get(f"/api/recordings/{rec}/talk").status_code == 403
    stranger = talk_app.test_client()
    assert stranger.get(f"/api/recordings/{rec}/talk", headers={"Accept": "application/json"}).status_code == 401


def test_starting_needs_the_csrf_token(analysed, talk_app, talk_kit):
    data_dir, rec, kit = talk_kit
    assert analysed.post(f"/api/recordings/{rec}/talk").status_code in (400, 403)


def test_statistics_page_shows_the_cards_in_dutch(analysed, talk_kit):
    data_dir, rec, kit = talk_kit
    html = analysed.get(f"/recordings/{rec}/stats?lang=nl").get_data(as_text=True)
    assert "Spreektijd" in html and "leraar (dichtbij)" in html and "leerlingen (verder weg)" in html
    assert "Wachttijd na vragen" in html and 'id="wait-table"' in html and 'class="talk-far"' in html
    html = analysed.get(f"/recordings/{rec}/stats?lang=en").get_data(as_text=True)
    assert "teacher (near)" in html and "Wait time after questions" in html


def test_the_wait_card_shows_wait_time_2_answers_and_categories_in_dutch_numbers(analysed, talk_kit):
    import re

    data_dir, rec, kit = talk_kit
    html = analysed.get(f"/recordings/{rec}/stats?lang=nl").get_data(as_text=True)
    assert "wachttijd na het antwoord" in html and 'id="wait-categories"' in html
    assert 'id="wait2-share"' in html and "Na het antwoord van de leerlingen" in html
    assert 'id="answer-length"' in html and "(mediaan)" in html
    cells = re.findall(r'class="(?:wait-s|answer-s|wait2-s)">([^<]*)<', html)
    assert cells and all(re.fullmatch(r"\d+(,\d)? s", c) for c in cells), cells
    assert any("," in c for c in cells)  # Dutch decimals, not 3.4
    assert re.search(r'id="talk-near">\d+(,\d)? min<', html)
    english = analysed.get(f"/recordings/{rec}/stats?lang=en").get_data(as_text=True)
    cells = re.findall(r'class="(?:wait-s|answer-s|wait2-s)">([^<]*)<', english)
    assert all(re.fullmatch(r"\d+(\.\d)? s", c) for c in cells) and any("." in c for c in cells), cells
    assert "wait after the answer" in english and "category 2" in english


@pytest.fixture(scope="module")
def long_lesson(talk_app, talk_kit):
    """A 25-minute lesson with a timeline known to the second: the teacher
    talks through the first 10 minutes, pupils half of the next 10, a
    stretch crosses the 20-minute edge. Sealed as the analysis would."""
    from appliance.paths import KitPaths
    from appliance.sealed import write_sealed_json

    data_dir, _rec, kit = talk_kit
    anna, bram = kit.people["Anna"], kit.people["Bram"]
    catalogue = Catalogue(data_dir / "catalogue.db")
    row = catalogue.create_recording(anna["id"], bram["id"], [anna["recipient"], bram["recipient"]])
    catalogue.add_segment(row["id"], 0, 0.0, 0.0, 100)
    catalogue.add_segment(row["id"], 1, 0.0, 1500.0, 1000)
    catalogue.finish_recording(row["id"])
    catalogue.close()
    seg = lambda a, b, v: {"start_s": a, "end_s": b, "voice": v, "confidence": 0.9,  # noqa: E731
                           "dbfs": -20.0, "hf_ratio_db": -10.0}
    timeline = {"version": 1, "vad": "webrtc", "duration_s": 1500.0, "recording_id": row["id"],
                "segments": [seg(0, 600, "near"), seg(600, 900, "far"), seg(1140, 1260, "near"),
                             seg(1263, 1270, "far"), seg(1272, 1280, "near")]}
    path = talk_app.config["KIT_PATHS"].talk(row["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_sealed_json(path, timeline, [anna["recipient"], bram["recipient"]])
    client = person(talk_app, kit, "Anna")
    for t, cat in ((300, 1), (1255, 3)):
        r = client.post(f"/api/recordings/{row['id']}/codes", json={"t": t, "kind": "question", "category": cat},
                        headers={"X-CSRF-Token": client.csrf})
        assert r.status_code == 201
    return client, row["id"]


def test_the_talk_card_honours_the_chosen_ten_minute_window(long_lesson):
    client, rec = long_lesson
    whole = client.get(f"/api/recordings/{rec}/talk").get_json()
    assert [(w["start_s"], w["end_s"]) for w in whole["windows"]] == [(0, 600), (600, 1200), (1200, 1500)]
    assert [w["shares"]["near"] for w in whole["windows"]] == [1.0, 0.1, 0.2267]
    assert len(whole["wait_times"]) == 2

    second = client.get(f"/api/recordings/{rec}/talk?window=600").get_json()
    assert second["window"] == [600, 1200]
    assert second["totals"] == {"near_s": 60.0, "far_s": 300.0, "silence_s": 240.0}
    assert second["shares"] == {"near": 0.1, "far": 0.5, "silence": 0.4}
    assert second["wait_times"] == []  # no question coded between 10 and 20 minutes
    assert client.get(f"/api/recordings/{rec}/talk?window=soon").status_code == 400

    html = client.get(f"/recordings/{rec}/stats?lang=nl&window=600").get_data(as_text=True)
    assert 'id="talk-window"' in html and "Minuut 10–20 van de les." in html
    assert 'id="talk-far">5 min<' in html and 'id="talk-far-share">50 %<' in html
    assert 'id="talk-near">1 min<' in html and 'id="talk-silence">4 min<' in html
    assert "In deze periode zijn geen vragen gecodeerd." in html and 'id="talk-windows"' not in html

    last = client.get(f"/recordings/{rec}/stats?lang=nl&window=1200").get_data(as_text=True)
    assert 'id="talk-near-share">23 %<' in last and 'id="wait-table"' in last
    assert 'class="wait2-s">2 s<' in last and 'class="answer-s">7 s<' in last  # 21:03–21:10, teacher at 21:12

    lesson = client.get(f"/recordings/{rec}/stats?lang=nl").get_data(as_text=True)
    assert 'id="talk-windows"' in lesson and 'id="talk-window"' not in lesson
    assert 'id="talk-near">12,1 min<' in lesson  # 600 + 120 + 8 s of teacher talk, with a Dutch comma


def test_an_unmeasured_lesson_offers_the_button(talk_app, kit_template, talk_kit):
    data_dir, rec, kit = talk_kit
    anna = person(talk_app, kit, "Anna")
    html = anna.get(f"/recordings/{kit.own_recording}/stats?lang=nl").get_data(as_text=True)
    assert "Spreektijd meten" in html and "nog niet gemeten" in html


def test_openapi_describes_talk(talk_app):
    spec = talk_app.test_client().get("/api/openapi.json").get_json()
    ops = spec["paths"]["/api/recordings/{recording_id}/talk"]
    assert set(ops) == {"get", "post"}
    assert spec["components"]["schemas"]["Talk"]["properties"]["state"]["enum"] == ["none", "pending", "done", "failed"]
    talk = spec["components"]["schemas"]["Talk"]["properties"]
    wait = talk["wait_times"]["items"]["properties"]
    assert {"wait_s", "answer_s", "wait2_s"} <= set(wait)
    assert {"mean_wait2_s", "median_answer_s", "mean_answer_s", "by_category", "window", "windows"} <= set(talk)
    assert [p["name"] for p in ops["get"]["parameters"] if p["in"] == "query"] == ["window"]


def test_the_player_shows_the_talk_strip_under_the_timeline(analysed, talk_kit):
    data_dir, rec, kit = talk_kit
    html = analysed.get(f"/recordings/{rec}?lang=nl").get_data(as_text=True)
    assert 'id="talk-strip"' in html and 'class="talk-near"' in html and "leraar (dichtbij)" in html
    html = analysed.get(f"/recordings/{kit.own_recording}?lang=nl").get_data(as_text=True)
    assert 'id="talk-strip"' not in html  # not measured: no strip


def stats_events(data_dir, rec) -> list[dict]:
    cat = Catalogue(data_dir / "catalogue.db")
    try:
        return [e for e in cat.outbox(limit=100000)
                if e["kind"].startswith("stats.") and e["payload"].get("recording_id") == rec]
    finally:
        cat.close()


def test_talk_shares_travel_only_with_the_teachers_opt_in(analysed, talk_app, talk_kit):
    from sync.protocol import filter_event

    data_dir, rec, kit = talk_kit
    assert stats_events(data_dir, rec) == []  # analysed, coded, not shared: nothing queued
    r = analysed.post(f"/recordings/{rec}/stats/sharing", data={"csrf_token": analysed.csrf, "share": "on"})
    assert r.status_code == 302
    [event] = stats_events(data_dir, rec)
    ratios = event["payload"]["ratios"]
    assert set(ratios) == {"talk_near", "talk_far", "talk_silence", "wait_3s_or_more"}
    assert sum(ratios[k] for k in ("talk_near", "talk_far", "talk_silence")) == pytest.approx(1, abs=0.01)
    sent = filter_event(event["kind"], event["payload"])
    assert sent is not None and sent["ratios"] == ratios and "segments" not in json.dumps(sent)
    # Measuring again with the same result queues nothing new.
    assert analysed.post(f"/api/recordings/{rec}/talk", headers={"X-CSRF-Token": analysed.csrf}).status_code == 202
    assert talk_app.extensions["kit_talk"].wait(600)
    assert len(stats_events(data_dir, rec)) == 1
    # Switching off withdraws.
    analysed.post(f"/recordings/{rec}/stats/sharing", data={"csrf_token": analysed.csrf, "share": "off"})
    assert [e["kind"] for e in stats_events(data_dir, rec)] == ["stats.lesson", "stats.withdrawn"]


def test_an_analysis_after_the_opt_in_queues_the_talk_shares(analysed, talk_app, talk_kit):
    data_dir, rec, kit = talk_kit
    (data_dir / "recordings" / rec / "talk.json.age").unlink()  # as if never measured
    before = len(stats_events(data_dir, rec))
    analysed.post(f"/recordings/{rec}/stats/sharing", data={"csrf_token": analysed.csrf, "share": "on"})
    events = stats_events(data_dir, rec)
    assert len(events) == before + 1 and "ratios" not in events[-1]["payload"]
    assert analysed.post(f"/api/recordings/{rec}/talk", headers={"X-CSRF-Token": analysed.csrf}).status_code == 202
    assert talk_app.extensions["kit_talk"].wait(600)
    events = stats_events(data_dir, rec)
    assert len(events) == before + 2 and events[-1]["kind"] == "stats.lesson"
    assert set(events[-1]["payload"]["ratios"]) == {"talk_near", "talk_far", "talk_silence", "wait_3s_or_more"}


def put_voice(client, rec, body):
    return client.put(f"/api/recordings/{rec}/talk/voices", json=body, headers={"X-CSRF-Token": client.csrf})


def test_the_coach_corrects_a_segment_and_every_measure_follows(analysed, talk_app, talk_kit):
    data_dir, rec, kit = talk_kit
    bram = person(talk_app, kit, "Bram")
    sealed = (data_dir / "recordings" / rec / "talk.json.age").read_bytes()
    before = bram.get(f"/api/recordings/{rec}/talk").get_json()
    seg = next(s for s in before["segments"] if s["voice"] == "near")
    length = seg["end_s"] - seg["start_s"]
    fixed = put_voice(bram, rec, {"start_s": seg["start_s"], "voice": "far"})
    assert fixed.status_code == 200
    body = fixed.get_json()
    now = next(s for s in body["segments"] if s["start_s"] == seg["start_s"])
    assert (now["voice"], now["confidence"], now["corrected"]) == ("far", 1.0, True)
    assert body["totals"]["near_s"] == pytest.approx(before["totals"]["near_s"] - length, abs=0.002)
    assert body["totals"]["far_s"] == pytest.approx(before["totals"]["far_s"] + length, abs=0.002)
    # Anna sees her coach's correction; it lives with the annotations, the analysis stays as measured.
    anna = person(talk_app, kit, "Anna")
    assert anna.get(f"/api/recordings/{rec}/talk").get_json()["totals"] == body["totals"]
    assert (data_dir / "recordings" / rec / "talk.json.age").read_bytes() == sealed
    page = anna.get(f"/recordings/{rec}").get_data(as_text=True)
    assert f'class="talk-far corrected" data-start="{seg["start_s"]:.3f}"' in page
    # Undone: back to what was measured.
    undone = put_voice(bram, rec, {"start_s": seg["start_s"], "voice": None}).get_json()
    assert undone["totals"] == before["totals"] and not any(s["corrected"] for s in undone["segments"])


@pytest.mark.parametrize("body, status, words", [
    ({"start_s": 0.123, "voice": "far"}, 400, "no talk segment starts at 0.123"),
    ({"start_s": "SEG", "voice": "far"}, 400, "start_s must be a number"),
    ({"voice": "far"}, 400, "start_s must be a number"),
    ([], 400, "a correction is an object"),
])
def test_a_hostile_correction_is_a_400_and_changes_nothing(analysed, talk_app, talk_kit, body, status, words):
    data_dir, rec, kit = talk_kit
    bram = person(talk_app, kit, "Bram")
    before = bram.get(f"/api/recordings/{rec}/talk").get_json()
    reply = put_voice(bram, rec, body)
    assert reply.status_code == status and words in reply.get_json()["error"]
    assert bram.get(f"/api/recordings/{rec}/talk").get_json() == before


def test_a_voice_other_than_near_or_far_is_refused(analysed, talk_app, talk_kit):
    data_dir, rec, kit = talk_kit
    bram = person(talk_app, kit, "Bram")
    seg = bram.get(f"/api/recordings/{rec}/talk").get_json()["segments"][0]
    reply = put_voice(bram, rec, {"start_s": seg["start_s"], "voice": "teacher"})
    assert reply.status_code == 400 and "near (the teacher) or far (pupils)" in reply.get_json()["error"]


def test_only_the_recipients_correct_and_only_with_the_token(analysed, talk_app, talk_kit):
    data_dir, rec, kit = talk_kit
    seg = person(talk_app, kit, "Bram").get(f"/api/recordings/{rec}/talk").get_json()["segments"][0]
    fix = {"start_s": seg["start_s"], "voice": "far" if seg["voice"] == "near" else "near"}
    assert put_voice(person(talk_app, kit, "Cor"), rec, fix).status_code == 404
    admin = talk_app.test_client()
    login_admin(admin)
    admin.csrf = csrf_of(admin)
    assert put_voice(admin, rec, fix).status_code == 403
    bram = person(talk_app, kit, "Bram")
    assert bram.put(f"/api/recordings/{rec}/talk/voices", json=fix).status_code in (400, 403)
    assert not bram.get(f"/api/recordings/{rec}/talk").get_json()["segments"][0]["corrected"]


def test_a_recording_without_analysis_has_nothing_to_correct(talk_app, talk_kit):
    data_dir, rec, kit = talk_kit
    anna = person(talk_app, kit, "Anna")
    reply = put_voice(anna, kit.own_recording, {"start_s": 1.0, "voice": "far"})
    assert reply.status_code == 409 and "nog geen" in reply.get_json()["error"]


def test_an_uncoded_question_is_suggested_and_one_click_codes_it(analysed, talk_app, talk_kit, lesson):
    data_dir, rec, kit = talk_kit
    anna = person(talk_app, kit, "Anna")
    body = anna.get(f"/api/recordings/{rec}/talk").get_json()
    assert body["suggestions"] == [] or all(
        not any(abs(s["t"] - q["t"]) < 1.0 for q in lesson.questions) for s in body["suggestions"])
    q = lesson.questions[1]
    assert anna.delete(f"/api/recordings/{rec}/codes/{q['code_id']}",
                       headers={"X-CSRF-Token": anna.csrf}).status_code == 204
    found = [s for s in anna.get(f"/api/recordings/{rec}/talk").get_json()["suggestions"] if abs(s["t"] - q["t"]) < 1.0]
    assert len(found) == 1 and abs(found[0]["answer_s"] - q["true_answer_s"]) <= 0.5
    assert abs(found[0]["wait_s"] - q["true_wait_s"]) <= 0.3
    # Coding it at the suggested moment: the suggestion goes, the wait is measured again.
    r = anna.post(f"/api/recordings/{rec}/codes", json={"t": found[0]["t"], "kind": "question",
                                                          "category": q["category"]},
                  headers={"X-CSRF-Token": anna.csrf})
    assert r.status_code == 201
    q["code_id"] = r.get_json()["id"]
    after = anna.get(f"/api/recordings/{rec}/talk").get_json()
    assert not [s for s in after["suggestions"] if abs(s["t"] - q["t"]) < 1.0]
    wait = next(w for w in after["wait_times"] if w["code_id"] == q["code_id"])
    assert abs(wait["wait_s"] - q["true_wait_s"]) <= 0.3


@pytest.mark.browser
def test_in_chromium_the_coach_corrects_the_strip_and_codes_a_suggestion(analysed, talk_app, talk_kit, lesson, browser):
    from test_ui_browser import unlock_in_page
    from test_ui_review_browser import wait_js
    from ui_server import serve

    data_dir, rec, kit = talk_kit
    anna = person(talk_app, kit, "Anna")
    q = lesson.questions[2]
    assert anna.delete(f"/api/recordings/{rec}/codes/{q['code_id']}",
                       headers={"X-CSRF-Token": anna.csrf}).status_code == 204
    seg = next(s for s in anna.get(f"/api/recordings/{rec}/talk").get_json()["segments"] if s["voice"] == "near")
    with serve(talk_app) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        unlock_in_page(page, base, kit, "Bram")
        page.goto(base + f"/recordings/{rec}")
        wait_js(page, "document.querySelectorAll('#suggestions li').length >= 1")
        rect = f"#talk-strip rect[data-start='{seg['start_s']:.3f}']"
        assert page.get_attribute(rect, "class") == "talk-near"
        page.evaluate(f"document.getElementById('video').currentTime = {(seg['start_s'] + seg['end_s']) / 2}")
        page.click("button[data-action='voice:far']")
        wait_js(page, f"document.querySelector(\"{rect}\").getAttribute('class') === 'talk-far corrected'")
        page.click("button[data-action='voice:auto']")
        wait_js(page, f"document.querySelector(\"{rect}\").getAttribute('class') === 'talk-near'")
        # The suggestion for the question no one coded: one click codes it, and it goes.
        item = next(li for li in page.locator("#suggestions li").all()
                    if abs(float(li.get_attribute("data-t")) - q["t"]) < 1.0)
        assert "antwoord" in item.text_content()
        count = page.locator("#suggestions li").count()
        item.locator("button", has_text=f"vraag {q['category']}").click()
        wait_js(page, f"document.querySelectorAll('#suggestions li').length === {count - 1}")
        context.close()
    assert errors == []
    codes = anna.get(f"/api/recordings/{rec}/annotations").get_json()["codes"]
    coded = [c for c in codes if c["kind"] == "question" and abs(c["t"] - q["t"]) < 1.0]
    assert len(coded) == 1 and coded[0]["category"] == q["category"]
    q["code_id"] = coded[0]["id"]
