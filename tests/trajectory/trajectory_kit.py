"""A small real kit for the trajectory tests: people with passphrase-wrapped
keys, a KitController over the simulated camera (real H.264/AAC, encrypted
while written) and no GPIO; the "button" is ``controller.start_recording``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from appliance import age
from appliance.camera import SimulatedCamera
from appliance.catalogue import Catalogue
from appliance.config import KitConfig
from appliance.daemon.controller import KitController
from appliance.consent import Consents
from appliance.identities import create_person, unwrap

PASSPHRASES = {"Anna": "anna-correct-horse", "Bram": "bram-battery-staple", "Cor": "cor-tr0ub4dor-three"}
WORK_FACTOR = 10


@dataclass
class Kit:
    data_dir: Path
    catalogue: Catalogue
    controller: KitController
    people: dict[str, dict]

    def identity(self, name: str):
        wrapped = (self.data_dir / "identities" / f"{self.people[name]['id']}.age").read_bytes()
        return age.unwrap_identity(wrapped, PASSPHRASES[name])

    def press_and_record(self, seconds: float = 1.2) -> str:
        """Short press, wait, hold to stop: one real recording; returns its id."""
        recording_id = self.controller.start_recording(source="button")
        time.sleep(seconds)
        self.controller.stop_recording()
        return recording_id


def make_kit(data_dir: Path) -> Kit:
    config = KitConfig(data_dir=data_dir, simulate=True, width=160, height=96, fps=15, realtime=True,
                       min_minutes_left=0.0, reserve_bytes=0, serve_review=False)
    data_dir.mkdir(parents=True, exist_ok=True)
    catalogue = Catalogue(config.catalogue_path)
    people = {name: create_person(data_dir, catalogue, name, role, PASSPHRASES[name], work_factor=WORK_FACTOR)
              for name, role in (("Anna", "teacher"), ("Bram", "coach"), ("Cor", "teacher"))}
    # Both teachers confirmed coach Bram with their own keys, and he accepted.
    identity = {name: unwrap(data_dir, people[name]["id"], PASSPHRASES[name]) for name in people}
    for teacher in ("Anna", "Cor"):
        Consents(catalogue).confirm_pair(people[teacher]["id"], people["Bram"]["id"], identity[teacher],
                                         identity["Bram"])
    camera = SimulatedCamera(160, 96, fps=15, realtime=True)
    controller = KitController(config, catalogue, camera, None)
    return Kit(data_dir, catalogue, controller, people)
