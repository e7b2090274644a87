"""A teacher who lost her passphrase enrols again, in person at the kit's console (IT, as root).

She types a new passphrase and gets a new key. Nothing she signed with the
old key carries over: the kit cannot record for her pair until she confirms
her coach again and he accepts. Her old key file stays (wrapped with the
old passphrase) for her old recordings. The review app has no such door:
the admin account cannot do this.
"""

from __future__ import annotations

from appliance import age
from appliance.catalogue import Catalogue
from appliance.consent import Consents

from .daemon_process import kit


def test_reenrolling_gives_a_new_key_and_asks_for_consent_again(tmp_path):
    data = str(tmp_path / "data")
    files = {}
    for name, text in (("anna", "anna-first-passphrase"), ("anna2", "anna-second-passphrase"),
                       ("bram", "bram-the-coach-passphrase")):
        files[name] = tmp_path / f"{name}.pass"
        files[name].write_text(text + "\n")
    kit("people", "add", "Anna", "--role", "teacher", "--passphrase-file", str(files["anna"]), "--data", data,
        check=True)
    kit("people", "add", "Bram", "--role", "coach", "--passphrase-file", str(files["bram"]), "--data", data,
        check=True)
    confirmed = kit("assign", "--teacher", "Anna", "--coach", "Bram", "--confirm-passphrase-file",
                    str(files["anna"]), "--coach-passphrase-file", str(files["bram"]), "--data", data, check=True)
    assert "open with their keys only" in confirmed.stdout
    catalogue = Catalogue(tmp_path / "data" / "catalogue.db")
    before = catalogue.find_person("Anna")
    catalogue.close()

    again = kit("people", "reenrol", "Anna", "--passphrase-file", str(files["anna2"]), "--data", data, check=True)
    assert "has a new key" in again.stdout and "Wie mag kijken" in again.stdout
    status = kit("assign", "--data", data, check=True).stdout
    assert "cannot record yet: the key of Anna changed since the confirmation" in status

    identities = tmp_path / "data" / "identities"
    kept = [p for p in identities.iterdir() if ".replaced-" in p.name]
    assert len(kept) == 1
    assert str(age.unwrap_identity(kept[0].read_bytes(), "anna-first-passphrase").recipient) == before["recipient"]
    current = identities / f"{before['id']}.age"
    new_key = age.unwrap_identity(current.read_bytes(), "anna-second-passphrase")
    assert str(new_key.recipient) != before["recipient"]

    # She confirms Bram again with her new key, he accepts: the pair records to her new key.
    kit("assign", "--teacher", "Anna", "--coach", "Bram", "--confirm-passphrase-file", str(files["anna2"]),
        "--coach-passphrase-file", str(files["bram"]), "--data", data, check=True)
    catalogue = Catalogue(tmp_path / "data" / "catalogue.db")
    anna, bram = catalogue.find_person("Anna"), catalogue.find_person("Bram")
    assert Consents(catalogue).recipients(anna["id"], bram["id"]) == [str(new_key.recipient), bram["recipient"]]
    catalogue.close()
