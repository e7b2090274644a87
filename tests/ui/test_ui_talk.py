"""Talk time and wait time in the review app: a lesson recorded with real
synthesised speech, analysed on demand, shown only to its recipients."""

from __future__ import annotations

import json
import shutil
import subprocess
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

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox (make deps)"
)


def to_48k(pcm: np.ndarray) -> np.ndarray:
    raw = (np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()
    fmt = ["-t", "raw", "-c", "1", "-b", "16", "-e", "signed-integer"]
    out = subprocess.run(["sox", *fmt, "-r", "16000", "-", *fmt, "-r", "48000", "-"],
                         input=raw, capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768


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

    camera = SimulatedCamera(160, 96, fps=15, realtime=False, audio_samples=to_48k(lesson.pcm))
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
    assert set(body["segments"][0]) == {"start_s", "end_s", "voice", "confidence"}
    by_code = {w["code_id"]: w for w in body["wait_times"]}
    for q in lesson.questions:
        assert abs(by_code[q["code_id"]]["wait_s"] - q["true_wait_s"]) <= 0.3
    sealed = data_dir / "recordings" / rec / "talk.json.age"
    assert sealed.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert all(p.name.endswith(".age") for p in (data_dir / "recordings" / rec).iterdir())


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
