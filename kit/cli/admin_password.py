"""``kit admin-password``: set the review app's admin password.

The admin manages people and settings in the browser and can open no
recording; the password is stored as an scrypt hash in
``DATA/admin-password``.
"""

from __future__ import annotations

import argparse

from kit.cli.data_option import add_data_option, data_dir_from
from appliance.paths import KitPaths
from appliance.errors import KitError
from kit.cli.secret_input import read_secret


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("admin-password", help="set the password of the review page's admin account")
    parser.add_argument("--password-file", metavar="FILE", help="read the password from the first line of FILE")
    add_data_option(parser)
    parser.set_defaults(func=_set_password)


def _set_password(args: argparse.Namespace) -> int:
    from ui.admin_account import AdminAccount

    data_dir = data_dir_from(args)
    if not data_dir.is_dir():
        raise KitError(f"no kit data directory at {data_dir}")
    AdminAccount(KitPaths(data_dir).admin_password).set_password(read_secret(args.password_file, "Admin password", what="password", option="--password-file"))
    print(f"admin password set ({KitPaths(data_dir).admin_password})")
    return 0
