"""``kit people add|list|reenrol``: teachers and coaches and their keys.

``reenrol`` is for a person who lost her passphrase, at the kit's console
with IT: she types a new passphrase herself and gets a new key. Her pairs
need her confirmation again; the admin account and the school server have
no way to do this.
"""

from __future__ import annotations

import argparse

from kit.cli.data_option import add_data_option, data_dir_from, open_catalogue
from appliance.identities import LOSS_WARNING, check_passphrase, create_person, reenrol
from appliance.paths import KitPaths
from kit.cli.secret_input import read_secret


def register(subparsers: argparse._SubParsersAction) -> None:
    people = subparsers.add_parser("people", help="teachers and coaches on this kit")
    sub = people.add_subparsers(dest="people_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="create a person with a passphrase-protected key")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["teacher", "coach"])
    add.add_argument("--passphrase-file", metavar="FILE",
                     help="read the passphrase from the first line of FILE")
    add_data_option(add)
    add.set_defaults(func=_add)

    again = sub.add_parser("reenrol", help="a person who lost her passphrase gets a new key (in person, at the kit)")
    again.add_argument("name")
    again.add_argument("--passphrase-file", metavar="FILE",
                       help="read the new passphrase from the first line of FILE")
    add_data_option(again)
    again.set_defaults(func=_reenrol)

    listing = sub.add_parser("list", help="list people and their age1… recipients")
    add_data_option(listing)
    listing.set_defaults(func=_list)


def _add(args: argparse.Namespace) -> int:
    data_dir = data_dir_from(args)
    passphrase = read_secret(args.passphrase_file, f"Passphrase for {args.name}")
    check_passphrase(passphrase)
    catalogue = open_catalogue(data_dir)
    try:
        person = create_person(data_dir, catalogue, args.name, args.role, passphrase)
    finally:
        catalogue.close()
    print(f"{person['name']} ({person['role']}), id {person['id']}")
    print(f"recipient: {person['recipient']}")
    print(f"key file:  {KitPaths(data_dir).identity(person['id'])} (wrapped with the passphrase)")
    print(LOSS_WARNING.format(name=person["name"]))
    return 0


def _reenrol(args: argparse.Namespace) -> int:
    data_dir = data_dir_from(args)
    catalogue = open_catalogue(data_dir)
    try:
        person = catalogue.find_person(args.name)
        passphrase = read_secret(args.passphrase_file, f"New passphrase for {person['name']}")
        check_passphrase(passphrase)
        person = reenrol(data_dir, catalogue, person["id"], passphrase)
    finally:
        catalogue.close()
    print(f"{person['name']} has a new key: {person['recipient']}")
    print("Her recordings so far open only with her old passphrase. The kit records for her again once she "
          "has confirmed her coach in the review app (Wie mag kijken) and he has accepted.")
    print(LOSS_WARNING.format(name=person["name"]))
    return 0


def _list(args: argparse.Namespace) -> int:
    data_dir = data_dir_from(args)
    catalogue = open_catalogue(data_dir)
    try:
        people = catalogue.list_people()
        assignment = catalogue.get_assignment()
    finally:
        catalogue.close()
    assigned = {assignment["teacher"]["id"], assignment["coach"]["id"]} if assignment else set()
    if not people:
        print("nobody yet: add someone with `kit people add NAME --role teacher|coach`")
    for person in people:
        mark = "  (assigned)" if person["id"] in assigned else ""
        print(f"{person['role']:<8} {person['name']:<24} {person['recipient']}{mark}")
    return 0
