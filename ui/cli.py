"""``kit admin-password``: set the review app's admin password.

The admin manages people and settings in the browser and can open no
recording; the password is stored as an scrypt hash in
``DATA/admin-password``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from appliance.cli.data_option import add_data_option, data_dir_from
from appliance.errors import KitError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("admin-password", help="set the password of the review page's admin account")
    parser.add_argument("--password-file", metavar="FILE", help="read the password from the first line of FILE")
    add_data_option(parser)
    parser.set_defaults(func=_set_password)


def _read_password(path: str | None) -> str:
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise KitError(f"cannot read the password file: {exc.strerror}: {path}") from None
        return lines[0] if lines else ""
    if not sys.stdin.isatty():
        raise KitError("no terminal to ask for a password: use --password-file FILE")
    password = getpass.getpass("Admin password: ")
    if getpass.getpass("Same password again: ") != password:
        raise KitError("the two passwords differ; nothing was changed")
    return password


def _set_password(args: argparse.Namespace) -> int:
    from ui.admin_account import AdminAccount

    data_dir = data_dir_from(args)
    if not data_dir.is_dir():
        raise KitError(f"no kit data directory at {data_dir}")
    AdminAccount(data_dir / "admin-password").set_password(_read_password(args.password_file))
    print(f"admin password set ({data_dir / 'admin-password'})")
    return 0
