"""``kit run --demo``: a teacher and a coach with well-known passphrases, assigned.

Demo passphrases are printed on purpose: the demo data lives in ``./data``
of a developer's checkout and exists to be opened.
"""

from __future__ import annotations

from appliance.catalogue import Catalogue
from appliance.config import KitConfig
from appliance.consent import Consents
from appliance.identities import create_person, unwrap

DEMO_PEOPLE = [
    ("Anna Demo", "teacher", "anna-demo-passphrase"),
    ("Bram Demo", "coach", "bram-demo-passphrase"),
]


def ensure_demo(config: KitConfig, catalogue: Catalogue) -> list[tuple[str, str, str]]:
    """Create the demo people if missing and assign them if nobody is assigned."""
    for name, role, passphrase in DEMO_PEOPLE:
        if not catalogue.query_one("SELECT id FROM people WHERE name = ?", (name,)):
            create_person(config.data_dir, catalogue, name, role, passphrase)
    if catalogue.get_assignment() is None:
        assignment = catalogue.assign(DEMO_PEOPLE[0][0], DEMO_PEOPLE[1][0])
        consents = Consents(catalogue)
        teacher, coach = assignment["teacher"], assignment["coach"]
        if consents.problem(teacher["id"], coach["id"]):
            # The demo teacher and coach confirm with their own keys, as real ones do in the review app.
            consents.confirm_pair(teacher["id"], coach["id"], unwrap(config.data_dir, teacher["id"], DEMO_PEOPLE[0][2]),
                                  unwrap(config.data_dir, coach["id"], DEMO_PEOPLE[1][2]))
    return list(DEMO_PEOPLE)
