"""A hostile school server cannot make a teacher's recordings open with its key.

It publishes, through the real pull over ssh + rsync, (a) Anna's person id
with the server's own recipient, and (b) a coach of its own assigned to
Anna. The kit refuses the key change (Anna enrolled here: her key is
pinned), reports it once, and cannot record for the server's pair; Anna's
confirmed pair still records to Anna and Bram only. A person who never
enrolled on the kit (a roster entry only) still follows the server.
"""

from __future__ import annotations

import json

from appliance import age
from appliance.consent import Consents
from appliance.identities import create_person, unwrap
from sync.agent.service import sync_once

PASSPHRASES = {"Anna": "anna-pinned-passphrase", "Bram": "bram-pinned-passphrase"}


def publish_hostile(layout, kit_id: str, people: list[dict], assignment: tuple[str, str] | None) -> None:
    roster = layout.roster(kit_id)
    roster.mkdir(parents=True, exist_ok=True)
    (roster / "roster.json").write_text(json.dumps({"version": 1, "people": people}))
    if assignment:
        (roster / "assignment.json").write_text(json.dumps({"version": 1, "teacher_id": assignment[0],
                                                           "coach_id": assignment[1]}))


def test_the_server_cannot_replace_a_pinned_key_or_pair_its_own_coach(make_kit, ssh_server):
    kit = make_kit("kit-pinned")
    cat = kit.catalogue
    anna = create_person(kit.data_dir, cat, "Anna", "teacher", PASSPHRASES["Anna"], work_factor=10)
    bram = create_person(kit.data_dir, cat, "Bram", "coach", PASSPHRASES["Bram"], work_factor=10)
    cat.assign(anna["id"], bram["id"])
    consents = Consents(cat)
    consents.confirm_pair(anna["id"], bram["id"], unwrap(kit.data_dir, anna["id"], PASSPHRASES["Anna"]),
                          unwrap(kit.data_dir, bram["id"], PASSPHRASES["Bram"]))
    server_key = age.generate_identity()
    roster_only = {"id": "p-roster000001", "name": "Rita Rooster", "role": "teacher",
                   "recipient": str(age.generate_identity().recipient)}
    publish_hostile(ssh_server.layout, "kit-pinned", [
        {"id": anna["id"], "name": "Anna", "role": "teacher", "recipient": str(server_key.recipient)},
        {"id": "p-servercoach1", "name": "Server Coach", "role": "coach", "recipient": str(server_key.recipient)},
        roster_only,
    ], (anna["id"], "p-servercoach1"))

    result = sync_once(kit.data_dir, cat, base_delay=0.01)
    assert any("key change refused" in s for s in result.roster.skipped)
    assert cat.get_person(anna["id"])["recipient"] == anna["recipient"]          # (a) refused
    assert cat.query("SELECT person_id FROM refused_key_changes") == [{"person_id": anna["id"]}]
    assert [r["payload"] for r in cat.outbox() if r["kind"] == "person.key_refused"] == \
        [{"person_id": anna["id"], "role": "teacher"}]
    assert cat.get_assignment()["coach"]["name"] == "Server Coach"                  # (b) assigned ...
    assert consents.problem(anna["id"], "p-servercoach1") is not None             # ... but not recordable

    # Syncing again reports nothing new (once per offered key).
    sync_once(kit.data_dir, cat, base_delay=0.01)
    assert len(cat.query("SELECT * FROM refused_key_changes")) == 1

    # Positive controls: Anna's confirmed pair still names exactly her and Bram's keys, and a
    # person who never enrolled here follows the server's roster.
    assert consents.recipients(anna["id"], bram["id"]) == [anna["recipient"], bram["recipient"]]
    publish_hostile(ssh_server.layout, "kit-pinned", [dict(roster_only, recipient=str(server_key.recipient))], None)
    sync_once(kit.data_dir, cat, base_delay=0.01)
    assert cat.get_person(roster_only["id"])["recipient"] == str(server_key.recipient)
