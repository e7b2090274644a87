"""The school server publishes intervisie groups over the real pull (ssh + rsync).

A published group only says whom a teacher may choose: it shows up on the
kit for its members, goes when the server drops it, never replaces a group
made on the kit, and a malformed entry is skipped while the rest applies.
Where the school asks for counts (``intervisie_counts``), the kit reports
that a share was made for a group, and nothing else about it.
"""

from __future__ import annotations

import json

from appliance import age
from appliance.intervisie import Groups
from sync import protocol
from sync.agent.service import sync_once
from sync.server import admin, publish


def test_a_published_group_reaches_the_kit_and_goes_when_the_server_drops_it(make_kit, ssh_server):
    layout = ssh_server.layout
    kit = make_kit("kit-groups")
    for person_id, name in (("p-anna", "Anna"), ("p-cor", "Cor"), ("p-dora", "Dora")):
        admin.add_person(layout, name, "teacher", str(age.generate_identity().recipient), person_id)
    group_id = admin.add_group(layout, "Intervisie onderbouw", ["p-anna", "p-cor", "p-dora"])
    publish.publish(layout, ["kit-groups"])
    sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)

    groups = Groups(kit.catalogue)
    assert [g["name"] for g in groups.of("p-anna")] == ["Intervisie onderbouw"]
    assert [m["id"] for m in groups.members(group_id)] == ["p-anna", "p-cor", "p-dora"]
    assert groups.get(group_id)["source"] == "server"
    # A group the teacher made on the kit stays hers, whatever the server publishes.
    own = groups.create("Eigen groep", ["p-cor"], created_by="p-anna")

    # A hostile or broken entry: a kit-style id (it would name the kit's own group), members that are
    # not a list, a name of a thousand characters. Each is skipped; the good group stays.
    roster = layout.roster("kit-groups")
    published = json.loads((roster / "groups.json").read_text())
    published["groups"] += [{"id": own["id"], "name": "Overgenomen", "members": ["p-dora", "p-cor"]},
                            {"id": "gs-broken", "name": "Kapot", "members": "p-anna"},
                            {"id": "gs-long", "name": "x" * 1000, "members": ["p-anna", "p-cor"]}]
    (roster / "groups.json").write_text(json.dumps(published))
    result = sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    assert len([s for s in result.roster.skipped if s.startswith("group ")]) == 3
    assert groups.get(own["id"])["name"] == "Eigen groep" and groups.get(own["id"])["source"] == "kit"
    assert [m["id"] for m in groups.members(own["id"])] == ["p-anna", "p-cor"]
    assert groups.get(group_id) is not None

    # A file whose groups are not a list changes nothing, and the sync goes on.
    (roster / "groups.json").write_text(json.dumps({"version": 1, "groups": 5}))
    result = sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    assert "groups.json: groups is not a list" in result.roster.skipped
    assert groups.get(group_id) is not None and groups.get(own["id"]) is not None

    # The server drops its group: it goes from the kit; the kit's own group stays.
    conn = __import__("sqlite3").connect(layout.db)
    conn.execute("DELETE FROM intervisie_members WHERE group_id = ?", (group_id,))
    conn.execute("DELETE FROM intervisie_groups WHERE id = ?", (group_id,))
    conn.commit()
    conn.close()
    publish.publish(layout, ["kit-groups"])
    sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    assert groups.get(group_id) is None
    assert [g["name"] for g in groups.of("p-anna")] == ["Eigen groep"]


def test_share_counts_carry_only_the_group_id():
    assert protocol.field_problem("intervisie.shared", {"group_id": "g-0123456789ab"}) is None
    assert protocol.filter_event("intervisie.withdrawn", {"group_id": "g-0123456789ab"}) == {"group_id": "g-0123456789ab"}
    for extra in ({"title": "Mooie vraag"}, {"teacher_id": "p-anna"}, {"question": "?"}):
        assert protocol.field_problem("intervisie.shared", {"group_id": "g-0123456789ab", **extra}) is not None


def test_the_dashboard_shows_share_counts_per_group_and_nothing_else(layout):
    from sync.server import ingest, kits
    from sync.server.dashboard import create_app

    kits.add_kit(layout, "kit-9", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDa")
    for person_id in ("p-anna", "p-cor"):
        admin.add_person(layout, person_id, "teacher", str(age.generate_identity().recipient), person_id)
    school = admin.add_group(layout, "Intervisie onderbouw", ["p-anna", "p-cor"])
    admin.add_user(layout, "leider", "leader", "a-long-enough-password")
    events = [{"seq": i + 1, "kind": kind, "at": "2026-12-02T10:00:00Z", "data": {"group_id": group}}
              for i, (kind, group) in enumerate([("intervisie.shared", school), ("intervisie.shared", school),
                                                 ("intervisie.withdrawn", school),
                                                 ("intervisie.shared", "g-0123456789ab")])]
    (layout.inbox("kit-9") / protocol.batch_name(1, 4)).write_bytes(protocol.encode_batch(1, 4, events, "t"))
    ingest.ingest(layout)
    client = create_app(layout).test_client()
    client.get("/login")
    with client.session_transaction() as s:
        csrf = s["csrf"]
    client.post("/login", data={"name": "leider", "password": "a-long-enough-password", "csrf": csrf})
    page = client.get("/progress").get_data(as_text=True)
    table = page[page.index('id="intervisie"'):]
    assert "<td>Intervisie onderbouw</td><td>kit-9</td><td>2</td><td>1</td>" in table
    assert "<td>een groep leraren op de kit</td><td>kit-9</td><td>1</td><td>0</td>" in table
    assert "g-0123456789ab" not in table
