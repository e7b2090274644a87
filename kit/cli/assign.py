"""``kit assign --teacher NAME --coach NAME``: whose keys new recordings are encrypted to."""

from __future__ import annotations

import argparse

from kit.cli.data_option import add_data_option, data_dir_from, open_catalogue
from appliance.paths import KitPaths
from appliance.errors import KitError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "assign", help="assign the teacher and coach whose keys open new recordings"
    )
    parser.add_argument("--teacher", metavar="NAME")
    parser.add_argument("--coach", metavar="NAME")
    add_data_option(parser)
    parser.set_defaults(func=_assign)


def _assign(args: argparse.Namespace) -> int:
    data_dir = data_dir_from(args)
    if not KitPaths(data_dir).catalogue.exists():
        raise KitError(f"no kit data in {data_dir} (add people first with `kit people add`)")
    catalogue = open_catalogue(data_dir)
    try:
        if args.teacher is None and args.coach is None:
            assignment = catalogue.get_assignment()
            if assignment is None:
                print("nobody assigned: kit assign --teacher NAME --coach NAME")
                return 1
        elif args.teacher is None or args.coach is None:
            raise KitError("give both --teacher NAME and --coach NAME")
        else:
            assignment = catalogue.assign(args.teacher, args.coach)
    finally:
        catalogue.close()
    print(f"teacher: {assignment['teacher']['name']}  coach: {assignment['coach']['name']}"
          "  (new recordings open with their keys)")
    return 0
