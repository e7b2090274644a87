"""A small but real data directory for the review-app tests.

Three people (teacher Anna, coach Bram, and Cor, another teacher) with
passphrase-wrapped identities; one recording of Anna + Bram made with the
SimulatedCamera and the real SegmentRecorder (H.264 + AAC, encrypted while
written), and one short recording of Cor + Bram that Anna must never see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from appliance.catalogue import Catalogue
from appliance.footage.simulated_lesson import record_simulated_lesson
from appliance.consent import Consents
from appliance.identities import create_person, unwrap

PASSPHRASES = {
    "Anna": "anna-correct-horse",
    "Bram": "bram-battery-staple",
    "Cor": "cor-tr0ub4dor-three",
}
WORK_FACTOR = 10  # scrypt 2**10: keeps unlocking quick in tests; the kit uses 2**18


@dataclass
class KitData:
    data_dir: Path
    people: dict[str, dict]
    own_recording: str
    foreign_recording: str
    own_duration_s: float


def record(catalogue: Catalogue, data_dir: Path, teacher: dict, coach: dict, seconds: float,
           width: int = 320, height: int = 180) -> str:
    """A real recording of ``seconds`` of simulated camera, catalogued segment by segment."""
    return record_simulated_lesson(catalogue, data_dir, teacher, coach, seconds, width=width, height=height,
                                   timeout_s=120)


def build(data_dir: Path, seconds: float = 20.0) -> KitData:
    catalogue = Catalogue(data_dir / "catalogue.db")
    people = {}
    for name, role in (("Anna", "teacher"), ("Bram", "coach"), ("Cor", "teacher")):
        people[name] = create_person(data_dir, catalogue, name, role, PASSPHRASES[name], work_factor=WORK_FACTOR)
    catalogue.assign("Anna", "Bram")
    Consents(catalogue).confirm_pair(people["Anna"]["id"], people["Bram"]["id"],
                                     unwrap(data_dir, people["Anna"]["id"], PASSPHRASES["Anna"]),
                                     unwrap(data_dir, people["Bram"]["id"], PASSPHRASES["Bram"]))
    own = record(catalogue, data_dir, people["Anna"], people["Bram"], seconds)
    foreign = record(catalogue, data_dir, people["Cor"], people["Bram"], 4.0)
    duration = float(catalogue.get_recording(own)["duration_s"])
    catalogue.add_bookmark(own, 6.0)
    catalogue.close()
    return KitData(data_dir, people, own, foreign, duration)


def add_360_lesson(data_dir: Path, seconds: float = 12.0) -> str:
    """A 360° lesson of Anna and Bram (the simulated classroom, 768×384) added to a built kit."""
    catalogue = Catalogue(data_dir / "catalogue.db")
    try:
        anna, bram = catalogue.find_person("Anna"), catalogue.find_person("Bram")
        return record_simulated_lesson(catalogue, data_dir, anna, bram, seconds, width=768, height=384,
                                       projection="equirectangular", timeout_s=120)
    finally:
        catalogue.close()
