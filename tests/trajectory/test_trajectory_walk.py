"""A whole coaching trajectory on a real (simulated-camera) kit: the teacher
only presses the button; every recording lands in its step; states and dates
are metadata in the outbox, the learning question and action points are not."""

from __future__ import annotations

import json
import subprocess

import pytest

from appliance.daemon.controller import CannotRecord
from appliance.trajectory import InvalidTransition, Trajectories

QUESTION = "leervraag-7f3a91: hoe krijg ik de achterste rij bij de les?"
ACTION = "actiepunt-c2e88d: vaker wachttijd na een vraag"


def test_whole_trajectory(kit, tmp_path):
    trajectories = Trajectories(kit.catalogue, kit.data_dir)
    anna, bram = kit.people["Anna"], kit.people["Bram"]
    t = trajectories.create(anna["id"], bram["id"], method="didactisch_coachen", learning_question=QUESTION)
    assert (t["state"], t["planned_recordings"], t["active"]) == ("planned", 3, 1)
    # Before the intake the kit does not record for this trajectory.
    assert kit.catalogue.get_assignment() is None
    with pytest.raises(CannotRecord, match="no teacher"):
        kit.controller.start_recording(source="button")

    trajectories.act(t["id"], "intake")
    assignment = kit.catalogue.get_assignment()
    assert (assignment["teacher"]["id"], assignment["coach"]["id"]) == (anna["id"], bram["id"])

    baseline = kit.press_and_record()
    assert trajectories.advance_recorded() == [t["id"]]
    assert trajectories.require(t["id"])["state"] == "baseline_recorded"
    with pytest.raises(InvalidTransition):
        trajectories.act(t["id"], "review")  # no coaching recording yet

    steps = {}
    for step in (1, 2, 3):
        steps[step] = kit.press_and_record()
        trajectories.advance_recorded()
        row = trajectories.require(t["id"])
        assert (row["state"], row["step"]) == ("recorded", step)
        with pytest.raises(InvalidTransition):
            trajectories.act(t["id"], "close")
        trajectories.add_action_point(t["id"], step, [kit.identity("Bram")], f"{ACTION} {step}")
        trajectories.act(t["id"], "review")
    # All recordings done: the kit stops recording for this pair until a new trajectory.
    assert kit.catalogue.get_assignment() is None
    closed = trajectories.act(t["id"], "close")
    assert closed["state"] == "closed" and closed["closed_at"] and closed["active"] == 0

    linked = {r["recording_id"]: r["step"] for r in trajectories.recordings(t["id"])}
    assert linked == {baseline: 0, steps[1]: 1, steps[2]: 2, steps[3]: 3}
    timeline = [(e["action"], e["state"], e["step"]) for e in trajectories.events(t["id"])]
    assert timeline == [
        ("created", "planned", 0), ("intake", "intake_done", 0), ("recorded", "baseline_recorded", 0),
        ("recorded", "recorded", 1), ("review", "reviewed", 1), ("recorded", "recorded", 2),
        ("review", "reviewed", 2), ("recorded", "recorded", 3), ("review", "reviewed", 3),
        ("close", "closed", 3)]

    # The personal part opens with either key and with the age CLI, never without.
    doc = trajectories.private(t["id"], [kit.identity("Anna")])
    assert doc["learning_question"] == QUESTION
    assert [p["text"] for p in doc["meetings"]["2"]["action_points"]] == [f"{ACTION} 2"]
    key_file = tmp_path / "bram.key"
    key_file.write_text(str(kit.identity("Bram")) + "\n")
    plain = subprocess.run(["age", "-d", "-i", str(key_file), str(trajectories.private_path(t["id"]))],
                           capture_output=True, check=True).stdout
    assert json.loads(plain)["learning_question"] == QUESTION
    assert QUESTION.encode() not in trajectories.private_path(t["id"]).read_bytes()

    # The outbox carries states and dates only.
    events = [(r["kind"], r["payload"]) for r in kit.catalogue.outbox(limit=10_000)]
    kinds = [k for k, _ in events if k.startswith("trajectory.")]
    assert kinds.count("trajectory.changed") == 9 and kinds[0] == "trajectory.created"
    text = json.dumps(events)
    assert "leervraag-7f3a91" not in text and "actiepunt-c2e88d" not in text
    assert "didactisch" not in text


def test_pause_resume_stop_and_invalid_transitions(kit):
    trajectories = Trajectories(kit.catalogue, kit.data_dir)
    t = trajectories.create("Anna", "Bram", planned_recordings=1)
    trajectories.act(t["id"], "intake")
    assert kit.catalogue.get_assignment() is not None
    trajectories.act(t["id"], "pause")
    assert kit.catalogue.get_assignment() is None      # paused: the button records nothing for it
    with pytest.raises(InvalidTransition):
        trajectories.act(t["id"], "intake")
    assert trajectories.act(t["id"], "resume")["state"] == "intake_done"
    assert kit.catalogue.get_assignment()["teacher"]["name"] == "Anna"
    stopped = trajectories.act(t["id"], "stop")
    assert stopped["state"] == "stopped" and stopped["closed_at"]
    for action in ("resume", "stop", "close", "intake", "pause"):
        with pytest.raises(InvalidTransition):
            trajectories.act(t["id"], action)
    with pytest.raises(InvalidTransition):
        trajectories.activate(t["id"])


@pytest.mark.parametrize("count", [0, 6, "3", True])
def test_number_of_recordings_is_one_to_five(kit, count):
    with pytest.raises(InvalidTransition):
        Trajectories(kit.catalogue, kit.data_dir).create("Anna", "Bram", planned_recordings=count)


def test_wrong_roles_and_unknown_method_refused(kit):
    trajectories = Trajectories(kit.catalogue, kit.data_dir)
    from appliance.errors import KitError

    with pytest.raises(KitError, match="teacher and a coach"):
        trajectories.create("Bram", "Anna")
    with pytest.raises(KitError, match="method"):
        trajectories.create("Anna", "Bram", method="gossip")
    assert trajectories.list() == []
    assert not (kit.data_dir / "trajectories").exists() or not any((kit.data_dir / "trajectories").iterdir())


def test_activating_another_trajectory_moves_the_assignment(kit):
    trajectories = Trajectories(kit.catalogue, kit.data_dir)
    first = trajectories.create("Anna", "Bram")
    trajectories.act(first["id"], "intake")
    second = trajectories.create("Cor", "Bram")
    trajectories.act(second["id"], "intake")
    assert kit.catalogue.get_assignment()["teacher"]["name"] == "Cor"
    assert trajectories.require(first["id"])["active"] == 0
    recording = kit.press_and_record(0.8)
    assert trajectories.trajectory_of(recording)["id"] == second["id"]
    trajectories.activate(first["id"])
    assert kit.catalogue.get_assignment()["teacher"]["name"] == "Anna"


def test_teacher_and_coach_writing_at_once_lose_nothing(kit):
    import threading

    trajectories = Trajectories(kit.catalogue, kit.data_dir)
    t = trajectories.create("Anna", "Bram", planned_recordings=2)
    keys = {"Anna": kit.identity("Anna"), "Bram": kit.identity("Bram")}

    def write(name: str) -> None:
        for i in range(8):
            trajectories.add_action_point(t["id"], 1 + i % 2, [keys[name]], f"{name} {i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in keys]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    doc = trajectories.private(t["id"], [keys["Anna"]])
    texts = sorted(p["text"] for m in doc["meetings"].values() for p in m["action_points"])
    assert texts == sorted(f"{n} {i}" for n in keys for i in range(8))
