"""The measures on hand-made timelines, where every figure is known exactly:
wait time 2, the answer's length, waits per question category and talk
shares per 10-minute window."""

from __future__ import annotations

import pytest

from appliance.talk.measures import clip, summary, wait_times, windows


def seg(a: float, b: float, voice: str) -> dict:
    return {"start_s": a, "end_s": b, "voice": voice, "confidence": 0.9}


def q(t: float, category: int, cid: str = "c") -> dict:
    return {"id": cid, "t": t, "kind": "question", "category": category}


def test_an_answer_in_two_pieces_is_one_answer_up_to_the_teacher():
    segs = [seg(0, 3, "near"), seg(5, 6, "far"), seg(6.8, 8, "far"), seg(10.5, 12, "near")]
    [w] = wait_times(segs, [q(2.5, 2)])
    assert (w["wait_s"], w["answer_s"], w["wait2_s"]) == (2.0, 3.0, 2.5)


def test_a_teacher_who_answers_her_own_question_has_no_answer_and_no_wait_2():
    segs = [seg(0, 3, "near"), seg(3.4, 6, "near"), seg(7, 8, "far")]
    [w] = wait_times(segs, [q(2.5, 1)])
    assert w["wait_s"] == pytest.approx(0.4)
    assert w["answer_s"] is None and w["wait2_s"] is None


def test_an_answer_at_the_end_of_the_recording_has_a_length_but_no_wait_2():
    [w] = wait_times([seg(0, 3, "near"), seg(4, 6.5, "far")], [q(2.9, 3)])
    assert w["answer_s"] == 2.5 and w["wait2_s"] is None


def test_no_speech_after_the_question_measures_nothing():
    [w] = wait_times([seg(0, 3, "near")], [q(2.9, 3)])
    assert w["wait_s"] is None and w["answer_s"] is None and w["wait2_s"] is None


def test_summary_of_wait_2_answers_and_categories():
    segs = [
        seg(0, 2, "near"), seg(3, 4, "far"), seg(5, 7, "near"),        # cat 1: wait 1, answer 1, wait2 1
        seg(7.5, 9, "near"), seg(13, 17, "far"), seg(20, 21, "near"),  # cat 2: wait 4, answer 4, wait2 3
        seg(22, 23, "near"), seg(23.5, 30, "near"),                    # cat 2: wait 0.5, no answer
    ]
    s = summary({"duration_s": 40, "segments": segs}, [q(1, 1, "a"), q(8, 2, "b"), q(22.5, 2, "c")])
    assert [w["wait_s"] for w in s["wait_times"]] == [1.0, 4.0, 0.5]
    assert s["mean_wait2_s"] == 2.0 and s["long_wait2_share"] == 0.5
    assert s["median_answer_s"] == 2.5 and s["mean_answer_s"] == 2.5
    cats = {row["category"]: row for row in s["by_category"]}
    assert cats[1] == {"category": 1, "questions": 1, "measured": 1, "total_wait_s": 1.0,
                       "mean_wait_s": 1.0, "long_wait_share": 0.0}
    assert cats[2]["questions"] == 2 and cats[2]["total_wait_s"] == 4.5 and cats[2]["mean_wait_s"] == 2.25
    assert cats[2]["long_wait_share"] == 0.5
    assert cats[3] == {"category": 3, "questions": 0, "measured": 0, "total_wait_s": 0,
                       "mean_wait_s": None, "long_wait_share": None}


def test_clip_keeps_only_the_seconds_inside_the_window():
    segs = [seg(590, 610, "near"), seg(1190, 1200, "far"), seg(1205, 1210, "near")]
    assert [(s["start_s"], s["end_s"]) for s in clip(segs, 600, 1200)] == [(600, 610), (1190, 1200)]


def test_talk_shares_per_ten_minute_window():
    # 25 minutes: teacher all through the first window, pupils half of the
    # second, a segment across the 20-minute edge split between windows.
    segs = [seg(0, 600, "near"), seg(600, 900, "far"), seg(1140, 1260, "near")]
    ws = windows(segs, 1500, 600)
    assert [(w["start_s"], w["end_s"]) for w in ws] == [(0, 600), (600, 1200), (1200, 1500)]
    assert ws[0]["shares"] == {"near": 1.0, "far": 0.0, "silence": 0.0}
    assert ws[1]["far_s"] == 300 and ws[1]["near_s"] == 60 and ws[1]["shares"]["silence"] == 0.4
    assert ws[2]["near_s"] == 60 and ws[2]["shares"]["near"] == pytest.approx(0.2)
    whole = summary({"duration_s": 1500, "segments": segs})
    assert sum(w["near_s"] for w in whole["windows"]) == whole["totals"]["near_s"]


def test_a_window_limits_talk_figures_and_waits_to_its_own_part():
    segs = [seg(0, 100, "near"), seg(595, 599, "near"), seg(603, 610, "far"), seg(611, 700, "near")]
    codes = [q(50, 1, "early"), q(598, 3, "edge")]
    first = summary({"duration_s": 900, "segments": segs}, codes, window=(0, 600))
    assert first["totals"] == {"near_s": 104.0, "far_s": 0.0, "silence_s": 496.0}
    # The question at 9:58 belongs to the first window; its answer after 10:00
    # still counts for it.
    assert [w["code_id"] for w in first["wait_times"]] == ["early", "edge"]
    edge = next(w for w in first["wait_times"] if w["code_id"] == "edge")
    assert (edge["wait_s"], edge["answer_s"], edge["wait2_s"]) == (4.0, 7.0, 1.0)
    second = summary({"duration_s": 900, "segments": segs}, codes, window=(600, 900))
    assert second["totals"] == {"near_s": 89.0, "far_s": 7.0, "silence_s": 204.0}
    assert second["wait_times"] == [] and second["mean_wait_s"] is None
    assert second["shares"]["far"] == pytest.approx(7 / 300, abs=1e-4)
