"""Verloop: a trajectory's recordings compared side by side, with the coded
figures of the statistics page and the measured talk and wait time, shown
only to the trajectory's teacher and coach."""

from __future__ import annotations

import re

import pytest

from appliance.catalogue import Catalogue
from appliance.paths import KitPaths
from appliance.talk.measures import summary
from appliance.talk.recording import seal_timeline
from appliance.trajectory import Trajectories
from ui_helpers import csrf_of, login_admin, unlock
from ui_recording import record

# Teacher speech ends 1 s after each question; the pupils answer 3.5 s and 1.5 s later.
TIMELINE = {"duration_s": 20.0, "segments": [
    {"start_s": 0.0, "end_s": 3.0, "voice": "near", "confidence": 0.9},
    {"start_s": 6.5, "end_s": 8.0, "voice": "far", "confidence": 0.8},
    {"start_s": 9.0, "end_s": 10.0, "voice": "near", "confidence": 0.9},
    {"start_s": 11.5, "end_s": 13.0, "voice": "far", "confidence": 0.8},
]}
FIRST = [{"t": 1.0, "kind": "instruction"}, {"t": 14.0, "kind": "instruction"},
         {"t": 2.0, "kind": "question", "category": 2}, {"t": 9.5, "kind": "question", "category": 3},
         {"t": 4.0, "kind": "feedback", "valence": "positive", "level": "content", "progress": False},
         {"t": 5.0, "kind": "feedback", "valence": "positive", "level": "strategy", "progress": True},
         {"t": 15.0, "kind": "feedback", "valence": "negative", "level": "personal", "progress": False}]
SECOND = [{"t": 0.5, "kind": "instruction"}, {"t": 1.0, "kind": "question", "category": 1},
          {"t": 1.5, "kind": "question", "category": 2}, {"t": 2.0, "kind": "question", "category": 2},
          {"t": 2.5, "kind": "feedback", "valence": "positive", "level": "content", "progress": False}]


@pytest.fixture
def compared(kit, app):
    """Anna's recording as the baseline (codes and a talk timeline) and a
    second, shorter one as recording 1 (codes only, never measured)."""
    catalogue = Catalogue(kit.data_dir / "catalogue.db")
    anna, bram = kit.people["Anna"], kit.people["Bram"]
    second = record(catalogue, kit.data_dir, anna, bram, 3.0)
    store = Trajectories(catalogue, kit.data_dir)
    t = store.create(anna["id"], bram["id"], planned_recordings=3)
    store.link_recording(t["id"], kit.own_recording, 0)
    store.link_recording(t["id"], second, 1)
    seal_timeline(KitPaths(kit.data_dir).talk(kit.own_recording), TIMELINE, [anna["recipient"], bram["recipient"]])
    catalogue.close()
    client = app.test_client()
    unlock(client, kit, "Anna")
    token = csrf_of(client)
    for rec, codes in ((kit.own_recording, FIRST), (second, SECOND)):
        for body in codes:
            made = client.post(f"/api/recordings/{rec}/codes", json=body, headers={"X-CSRF-Token": token})
            assert made.status_code == 201, made.get_json()
    return t["id"], second, client


def cells(html: str, rec: str) -> dict[str, str]:
    row = re.search(rf'<tr id="progress-{rec}">(.*?)</tr>', html, re.S).group(1)
    return {m[0]: re.sub(r"<[^>]+>", "", m[1]).strip() for m in re.findall(r'<td class="([\w-]+)"[^>]*>(.*?)</td>', row, re.S)}


def test_the_timeline_is_what_the_expected_figures_assume():
    s = summary(TIMELINE, [dict(c, id=str(i)) for i, c in enumerate(FIRST)])
    assert [w["wait_s"] for w in s["wait_times"]] == [3.5, 1.5]
    assert (s["shares"]["near"], s["mean_wait_s"], s["long_wait_share"]) == (0.2, 2.5, 0.5)


def test_progress_compares_the_recordings_in_step_order(compared, kit):
    trajectory, second, anna = compared
    page = anna.get(f"/trajectories/{trajectory}/progress")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index(f"progress-{kit.own_recording}") < html.index(f"progress-{second}")
    assert cells(html, kit.own_recording) == {
        "instructions": "2", "cat-1": "0", "cat-2": "1", "cat-3": "1", "positive": "2", "negative": "1",
        "talk-share": "20 %", "mean-wait": "2,5 s", "long-waits": "50 %"}
    # Never measured: a dash where the talk figures would be, the coded figures all there.
    assert cells(html, second) == {
        "instructions": "1", "cat-1": "1", "cat-2": "2", "cat-3": "0", "positive": "1", "negative": "0",
        "talk-share": "–", "mean-wait": "–", "long-waits": "–"}
    assert "Verloop" in html and "Lesdatum" in html
    assert re.search(rf'<th data-label="Stap">nulmeting</th>\s*<td data-label="Lesdatum"><a href="/recordings/{kit.own_recording}/stats">', html)
    assert re.search(r"\d{1,2} [a-z]{3} \d{4} \d{2}:\d{2}", html)  # the library's Dutch date
    assert html.count('class="chart spark"') == 6
    # The trajectory page links to it, and the coach sees the same figures.
    assert f"/trajectories/{trajectory}/progress" in anna.get(f"/trajectories/{trajectory}").get_data(as_text=True)


def test_the_coach_sees_it_a_stranger_gets_404_and_the_admin_403(compared, kit, app):
    trajectory, second, _anna = compared
    url = f"/trajectories/{trajectory}/progress"
    bram = app.test_client()
    unlock(bram, kit, "Bram")
    seen = bram.get(url)
    assert seen.status_code == 200 and cells(seen.get_data(as_text=True), kit.own_recording)["mean-wait"] == "2,5 s"
    cor = app.test_client()
    unlock(cor, kit, "Cor")
    assert cor.get(f"/recordings/{kit.foreign_recording}/stats").status_code == 200  # Cor is unlocked and can see his own
    refused = cor.get(url)
    assert refused.status_code == 404 and "2,5 s" not in refused.get_data(as_text=True)
    assert cor.get("/trajectories/not-a-trajectory/progress").status_code == 404
    admin = app.test_client()
    login_admin(admin)
    assert admin.get("/admin/").status_code == 200
    assert admin.get(url).status_code == 403
    assert app.test_client().get(url).status_code in (302, 303, 401)


def test_an_empty_trajectory_says_so(kit, app):
    catalogue = Catalogue(kit.data_dir / "catalogue.db")
    t = Trajectories(catalogue, kit.data_dir).create(kit.people["Anna"]["id"], kit.people["Bram"]["id"])
    catalogue.close()
    client = app.test_client()
    unlock(client, kit, "Anna")
    html = client.get(f"/trajectories/{t['id']}/progress").get_data(as_text=True)
    assert 'id="progress-none"' in html and "Nog geen opnames in dit traject." in html
