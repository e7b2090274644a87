"""Coding, clips and reflections: one age document per recording, to both
recipients, written atomically; statistics and exports from it."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import av
import pytest

from appliance import age
from ui_helpers import csrf_of, page_csrf, unlock
from ui_recording import PASSPHRASES

NOTE = "Sanne stelde een denkvraag-7f3a9c"


@pytest.fixture
def anna(client, kit):
    unlock(client, kit)
    client.csrf = csrf_of(client)
    return client


def post(c, url, body, method="POST"):
    return c.open(url, method=method, json=body, headers={"X-CSRF-Token": c.csrf})


def identity_of(kit, name):
    wrapped = (kit.data_dir / "identities" / f"{kit.people[name]['id']}.age").read_bytes()
    return age.unwrap_identity(wrapped, PASSPHRASES[name])


def decrypt_with_cli(kit, name, path, tmp_path) -> bytes:
    key = tmp_path / f"{name}.key"
    key.write_text(str(identity_of(kit, name)) + "\n")
    return subprocess.run(["age", "-d", "-i", str(key), str(path)], check=True, capture_output=True).stdout


def code_some(anna, rec):
    base = f"/api/recordings/{rec}"
    bodies = [
        {"t": 1.0, "kind": "instruction"},
        {"t": 2.5, "kind": "question", "category": 1},
        {"t": 3.0, "kind": "question", "category": 2},
        {"t": 4.0, "kind": "question", "category": 3},
        {"t": 5.0, "kind": "feedback", "valence": "positive", "level": "strategy", "progress": True},
        {"t": 6.0, "kind": "feedback", "valence": "positive", "level": "content"},
        {"t": 7.0, "kind": "feedback", "valence": "negative", "level": "personal"},
    ]
    for body in bodies:
        assert post(anna, base + "/codes", body).status_code == 201
    assert post(anna, base + "/clips", {"in": 2.0, "out": 6.0, "kind": "pearl", "title": "denkvraag"}).status_code == 201
    assert post(anna, base + "/clips", {"in": 8.0, "out": 12.0, "kind": "puzzle"}).status_code == 201


def test_document_is_encrypted_to_teacher_and_coach(anna, kit, tmp_path):
    rec = kit.own_recording
    code_some(anna, rec)
    assert post(anna, f"/api/recordings/{rec}/texts", {"notes": NOTE, "learning_question": "Hoe stel ik open vragen?"},
                method="PUT").status_code == 200
    path = kit.data_dir / "recordings" / rec / "annotations.json.age"
    raw = path.read_bytes()
    assert raw.startswith(b"age-encryption.org/v1") and NOTE.encode() not in raw
    for person in ("Anna", "Bram"):  # both recipients open it with the real age CLI
        doc = json.loads(decrypt_with_cli(kit, person, path, tmp_path))
        assert doc["notes"] == NOTE and len(doc["codes"]) == 7 and len(doc["clips"]) == 2
    with pytest.raises(subprocess.CalledProcessError):
        decrypt_with_cli(kit, "Cor", path, tmp_path)
    assert not list(path.parent.glob("*.partial"))


def test_annotations_survive_a_new_session_and_show_for_the_coach(app, anna, kit):
    rec = kit.own_recording
    code_some(anna, rec)
    coach = app.test_client()
    unlock(coach, kit, "Bram")
    doc = coach.get(f"/api/recordings/{rec}/annotations").get_json()
    assert [c["kind"] for c in doc["codes"]][:2] == ["instruction", "question"]
    assert {k["kind"] for k in doc["clips"]} == {"pearl", "puzzle"}


def test_delete_and_update(anna, kit):
    rec = kit.own_recording
    code = post(anna, f"/api/recordings/{rec}/codes", {"t": 1, "kind": "instruction"}).get_json()
    clip = post(anna, f"/api/recordings/{rec}/clips", {"in": 1, "out": 3, "kind": "pearl"}).get_json()
    changed = post(anna, f"/api/recordings/{rec}/clips/{clip['id']}",
                   {"kind": "puzzle", "reflection": {"pupils": {"feel": "onzeker"}}}, method="PATCH").get_json()
    assert changed["kind"] == "puzzle" and changed["reflection"]["pupils"]["feel"] == "onzeker"
    assert changed["in"] == 1 and changed["out"] == 3
    assert post(anna, f"/api/recordings/{rec}/codes/{code['id']}", None, method="DELETE").status_code == 204
    assert post(anna, f"/api/recordings/{rec}/codes/{code['id']}", None, method="DELETE").status_code == 404
    doc = anna.get(f"/api/recordings/{rec}/annotations").get_json()
    assert doc["codes"] == [] and len(doc["clips"]) == 1


@pytest.mark.parametrize("body", [
    {"t": 1, "kind": "praise"},
    {"t": -1, "kind": "instruction"},
    {"t": "soon", "kind": "instruction"},
    {"t": 1, "kind": "question", "category": 4},
    {"t": 1, "kind": "feedback", "valence": "neutral"},
    {"t": 1, "kind": "feedback", "valence": "positive", "level": "mood"},
    {"t": 99999, "kind": "instruction"},
    [1, 2],
])
def test_bad_codes_refused_with_a_message(anna, kit, body):
    response = post(anna, f"/api/recordings/{kit.own_recording}/codes", body)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_clip_out_before_in_refused(anna, kit):
    response = post(anna, f"/api/recordings/{kit.own_recording}/clips", {"in": 5, "out": 4, "kind": "pearl"})
    assert response.status_code == 400 and "out" in response.get_json()["error"]


def test_full_disk_loses_nothing(anna, kit, monkeypatch):
    rec = kit.own_recording
    post(anna, f"/api/recordings/{rec}/codes", {"t": 1, "kind": "instruction"})
    path = kit.data_dir / "recordings" / rec / "annotations.json.age"
    before = path.read_bytes()
    real_write = os.write

    def full(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".partial"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    response = post(anna, f"/api/recordings/{rec}/codes", {"t": 2, "kind": "instruction"})
    monkeypatch.undo()
    assert response.status_code == 503
    assert "No space left" in response.get_json()["error"]
    assert path.read_bytes() == before and not list(path.parent.glob("*.partial"))
    assert len(anna.get(f"/api/recordings/{rec}/annotations").get_json()["codes"]) == 1


def test_statistics_page_and_api(anna, kit):
    rec = kit.own_recording
    code_some(anna, rec)
    stats = anna.get(f"/api/recordings/{rec}/stats").get_json()
    assert stats["counts"] == {"instruction": 1, "question": 3, "feedback": 3}
    assert stats["questions"] == {"1": 1, "2": 1, "3": 1}
    assert stats["feedback"]["positive"] == 2 and stats["feedback"]["negative"] == 1
    assert stats["feedback_ratio"] == 2.0 and stats["feedback_norm_met"] is False
    assert stats["question_norm_met"] is True
    assert (stats["pearls"], stats["puzzles"]) == (1, 1)
    assert stats["rate_per_min"]["question"] == pytest.approx(3 / (kit.own_duration_s / 60), abs=0.01)
    html = anna.get(f"/recordings/{rec}/stats").get_data(as_text=True)
    assert '<td id="count-question">3</td>' in html
    assert html.count("<svg") >= 5 and "norm" in html
    windowed = anna.get(f"/api/recordings/{rec}/stats?window=600").get_json()
    assert windowed["counts"] == {"instruction": 0, "question": 0, "feedback": 0}
    assert anna.get(f"/api/recordings/{rec}/stats?window=abc").status_code == 400


def test_exports(anna, kit):
    rec = kit.own_recording
    code_some(anna, rec)
    vtt = anna.get(f"/export/{rec}/annotations.vtt?lang=en").get_data(as_text=True)
    assert vtt.startswith("WEBVTT") and "00:00:02.000 --> 00:00:06.000" in vtt and "pearl: denkvraag" in vtt
    rows = list(csv.DictReader(io.StringIO(anna.get(f"/export/{rec}/annotations.csv").data.decode("utf-8-sig")),
                               delimiter=";"))
    assert len(rows) == 9 and rows[0]["code"] == "aanwijzing"
    assert {r["vraagcategorie"] for r in rows if r["code"] == "vraag"} == {"1", "2", "3"}
    eaf = ET.fromstring(anna.get(f"/export/{rec}/annotations.eaf").data)
    tiers = {t.get("TIER_ID"): t for t in eaf.iter("TIER")}
    assert len(tiers["codes"].findall("ANNOTATION")) == 7 and len(tiers["clips"].findall("ANNOTATION")) == 2
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in eaf.iter("TIME_SLOT")}
    first = tiers["clips"].find("ANNOTATION/ALIGNABLE_ANNOTATION")
    assert (slots[first.get("TIME_SLOT_REF1")], slots[first.get("TIME_SLOT_REF2")]) == (2000, 6000)


def ffprobe_pipe(data: bytes) -> dict:
    """ffprobe over stdin: the plaintext clip never touches the disk."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "format=start_time,duration:stream=codec_type,start_time,duration",
                          "-of", "json", "-"], input=data, capture_output=True, check=True).stdout
    return json.loads(out)


def test_clip_exports_mp4_and_age_cut_exactly(anna, kit, tmp_path):
    rec = kit.own_recording
    clip = post(anna, f"/api/recordings/{rec}/clips",
                {"in": 3.2, "out": 7.5, "kind": "pearl", "title": "Mooie vraag"}).get_json()
    mp4 = anna.get(f"/export/{rec}/clips/{clip['id']}.mp4")
    assert mp4.status_code == 200 and mp4.mimetype == "video/mp4"
    date = anna.get(f"/api/recordings/{rec}").get_json()["started_at"][:10]
    assert mp4.headers["Content-Disposition"] == f'attachment; filename="{date} Parel - Mooie vraag.mp4"'
    probe = ffprobe_pipe(mp4.data)
    frame = 1 / 30
    assert abs(float(probe["format"]["duration"]) - 4.3) <= frame
    assert abs(float(probe["format"]["start_time"])) < 1e-3
    streams = {s["codec_type"]: s for s in probe["streams"]}
    assert set(streams) == {"video", "audio"}
    for s in streams.values():  # audio trimmed to the same span as the video
        assert abs(float(s["start_time"])) < 1e-3 and abs(float(s["duration"]) - 4.3) <= frame
    with av.open(io.BytesIO(mp4.data)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(frames - 4.3 * 30) <= 1
    part = anna.get(f"/export/{rec}/clips/{clip['id']}.mp4", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == mp4.data[:100]

    sealed = anna.get(f"/export/{rec}/clips/{clip['id']}.mp4.age")
    assert sealed.data.startswith(b"age-encryption.org/v1")
    assert sealed.headers["Content-Disposition"] == f'attachment; filename="{date} Parel - Mooie vraag.mp4.age"'
    path = tmp_path / "clip.mp4.age"
    path.write_bytes(sealed.data)
    opened = decrypt_with_cli(kit, "Bram", path, tmp_path)  # stdout: stays in memory
    assert opened == mp4.data
    assert abs(float(ffprobe_pipe(opened)["format"]["duration"]) - 4.3) <= frame
    from appliance.footage.plaintext_scan import scan_for_plaintext_media
    assert scan_for_plaintext_media([kit.data_dir]) == []  # the cut left no plaintext behind
    assert anna.get(f"/export/{rec}/clips/k-nothere.mp4").status_code == 404


def test_clip_file_name_non_ascii_rfc5987(anna, kit):
    rec = kit.own_recording
    clip = post(anna, f"/api/recordings/{rec}/clips",
                {"in": 1.0, "out": 2.0, "kind": "puzzle", "title": "Één/twee: \"wat nu?\""}).get_json()
    header = anna.get(f"/export/{rec}/clips/{clip['id']}.mp4").headers["Content-Disposition"]
    date = anna.get(f"/api/recordings/{rec}").get_json()["started_at"][:10]
    name = f"{date} Puzzel - Één twee wat nu.mp4"
    from urllib.parse import quote
    assert header == (f'attachment; filename="{date} Puzzel - Een twee wat nu.mp4"; '
                      f"filename*=UTF-8''{quote(name, safe='')}")


def test_csv_for_dutch_excel(anna, kit):
    rec = kit.own_recording
    code_some(anna, rec)
    assert post(anna, f"/api/recordings/{rec}/clips",
                {"in": 9.5, "out": 10.25, "kind": "puzzle", "title": "=HYPERLINK(\"http://x\")"}).status_code == 201
    response = anna.get(f"/export/{rec}/annotations.csv?lang=en")
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    text = raw.decode("utf-8-sig")
    header = text.split("\r\n", 1)[0]
    assert header == "soort;begin (s);eind (s);code;vraagcategorie;toon;niveau;voortgang;titel"
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
    kinds = [r[3] for r in rows]
    assert kinds.count("aanwijzing") == 1 and kinds.count("vraag") == 3 and kinds.count("feedback") == 3
    assert {"parel", "puzzel"} <= set(kinds)
    feedback = [r for r in rows if r[3] == "feedback"]
    assert [(r[5], r[6], r[7]) for r in feedback] == [
        ("positief", "strategie", "ja"), ("positief", "inhoud", ""), ("negatief", "persoonlijke kwaliteiten", "")]
    assert rows[0][:2] == ["codering", "1,000"]
    clip = next(r for r in rows if r[8].startswith("'=HYPERLINK"))
    assert clip[:4] == ["fragment", "9,500", "10,250", "puzzel"]
    assert not any(cell[:1] in "=+-@" for r in rows for cell in r if cell)


def test_reflection_grid_and_notes_forms(anna, kit):
    rec = kit.own_recording
    clip = post(anna, f"/api/recordings/{rec}/clips", {"in": 1, "out": 2, "kind": "pearl"}).get_json()
    token = page_csrf(anna.get(f"/recordings/{rec}/clips").get_data(as_text=True))
    form = {"csrf_token": token, "title": "start", "kind": "pearl", "teacher_want": "rust", "pupils_do": "meedoen"}
    assert anna.post(f"/recordings/{rec}/clips/{clip['id']}", data=form).status_code == 302
    assert anna.post(f"/recordings/{rec}/notes", data={"csrf_token": token, "notes": NOTE}).status_code == 302
    html = anna.get(f"/recordings/{rec}/clips").get_data(as_text=True)
    assert "rust" in html and "meedoen" in html and NOTE in html


def test_statistics_page_dutch_numbers_norms_levels(anna, kit):
    rec = kit.own_recording
    code_some(anna, rec)  # 1 instruction, 3 questions (cat 1, 2, 3), 2 positive + 1 negative feedback
    html = anna.get(f"/recordings/{rec}/stats").get_data(as_text=True)
    cell = lambda name: re.search(rf'id="{name}">([^<]*)<', html).group(1)  # noqa: E731
    rate = 3 / (kit.own_duration_s / 60)
    expected = f"{rate:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    assert "," in expected and cell("rate-question") == f"{expected}/min"
    assert f"{expected}/min</text>" in html  # the chart too
    assert not re.search(r"\d\.\d+/min", html)
    # one word for instructions
    assert "<th>aanwijzingen</th>" in html and "instructie" not in html.lower()
    # "Nu: x tegen y" beside every norm
    assert cell("now-questions") == "Nu: 2 tegen 1."
    assert cell("now-feedback") == "Nu: 2 tegen 1."
    assert cell("now-clips") == "Nu: 1 tegen 1."
    # counts per feedback level and progress feedback
    assert cell("count-level-strategy") == "1" and cell("count-level-content") == "1"
    assert cell("count-level-personal") == "1" and cell("count-level-modus") == "0"
    assert cell("count-progress") == "1" and cell("count-category-2") == "1"
    assert "feedback op persoonlijke kwaliteiten" in html and "voortgangsfeedback" in html
    # negative feedback in red
    assert re.search(r'<tr class="sub negative"><th>negatief</th><td id="count-negative">1</td>', html)
    css = anna.get("/static/app.css").get_data(as_text=True)
    assert ".counts tr.negative th, .counts tr.negative td { color: var(--danger)" in css
    english = anna.get(f"/recordings/{rec}/stats?lang=en").get_data(as_text=True)
    assert f"{expected.replace(',', '.')}/min" in english and "Now: 2 against 1." in english
