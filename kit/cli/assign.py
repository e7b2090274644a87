"""``kit assign --teacher NAME --coach NAME``: the pair new recordings are for.

Assigning only chooses; the kit records for the pair once the teacher has
confirmed it with her own key and the coach has accepted (in the review
app, or here with ``--confirm-passphrase-file`` and ``--coach-passphrase-file``
for scripts). Until then the kit cannot record.
"""

from __future__ import annotations

import argparse

from appliance import age
from appliance.consent import Consents
from appliance.errors import KitError
from appliance.identities import unwrap
from appliance.paths import KitPaths
from kit.cli.data_option import add_data_option, data_dir_from, open_catalogue
from kit.cli.secret_input import read_secret


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "assign", help="assign the teacher and coach whose keys open new recordings"
    )
    parser.add_argument("--teacher", metavar="NAME")
    parser.add_argument("--coach", metavar="NAME")
    parser.add_argument("--confirm-passphrase-file", metavar="FILE",
                        help="the teacher's passphrase (first line): she confirms the pair with her key")
    parser.add_argument("--coach-passphrase-file", metavar="FILE",
                        help="the coach's passphrase (first line): he accepts with his key")
    add_data_option(parser)
    parser.set_defaults(func=_assign)


def _identity(data_dir, person: dict, passphrase_file: str) -> age.X25519Identity:
    passphrase = read_secret(passphrase_file, f"Passphrase of {person['name']}", confirm=False)
    try:
        return unwrap(data_dir, person["id"], passphrase)
    except FileNotFoundError:
        raise KitError(f"{person['name']} has not enrolled on this kit (no key here)") from None
    except age.IncorrectPassphrase:
        raise KitError(f"incorrect passphrase for {person['name']}; nothing was confirmed") from None


def _assign(args: argparse.Namespace) -> int:
    data_dir = data_dir_from(args)
    if not KitPaths(data_dir).catalogue.exists():
        raise KitError(f"no kit data in {data_dir} (add people first with `kit people add`)")
    catalogue = open_catalogue(data_dir)
    try:
        consents = Consents(catalogue)
        if args.teacher is None and args.coach is None:
            assignment = catalogue.get_assignment()
            if assignment is None:
                print("nobody assigned: kit assign --teacher NAME --coach NAME")
                return 1
        elif args.teacher is None or args.coach is None:
            raise KitError("give both --teacher NAME and --coach NAME")
        else:
            teacher, coach = catalogue.find_person(args.teacher), catalogue.find_person(args.coach)
            # Unwrap first: a wrong passphrase changes nothing at all.
            teacher_key = _identity(data_dir, teacher, args.confirm_passphrase_file) \
                if args.confirm_passphrase_file else None
            coach_key = _identity(data_dir, coach, args.coach_passphrase_file) if args.coach_passphrase_file else None
            assignment = catalogue.assign(teacher["id"], coach["id"])
            if teacher_key is not None:
                consents.confirm(teacher["id"], coach["id"], teacher_key)
            if coach_key is not None:
                consents.accept(teacher["id"], coach["id"], coach_key)
        problem = consents.problem(assignment["teacher"]["id"], assignment["coach"]["id"])
    finally:
        catalogue.close()
    print(f"teacher: {assignment['teacher']['name']}  coach: {assignment['coach']['name']}")
    print(f"cannot record yet: {problem}" if problem else "new recordings open with their keys only")
    return 0
