"""Entry point of the ``kit`` command.

Each area of the kit contributes its sub-commands through a module with a
``register(subparsers)`` function; this file only wires them together and
turns :class:`~appliance.errors.KitError` into one clear line on stderr.

A module that fails to import is an error of the installation, never a
command quietly left out.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from appliance import __version__
from appliance.errors import run_command

# Modules that add sub-commands, in the order `kit --help` lists them.
COMMAND_MODULES = [
    "kit.cli.age",
    "kit.cli.firstboot",
    "kit.cli.run",
    "kit.cli.people",
    "kit.cli.assign",
    "kit.cli.record",
    "kit.cli.button",
    "kit.cli.trajectory",
    "kit.cli.intervisie",
    "kit.cli.sync",
    "kit.cli.admin_password",
    "kit.cli.tls",
    "kit.cli.hotspot",
]


# Commands whose module is known in advance: ``kit age …`` runs in scripts
# on large files and should not first load the web app and every other area
# (about 0.5 s here).
LIGHT_COMMANDS = {"age": "kit.cli.age"}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kit", description="Lesson kit: record, encrypt and review lessons."
    )
    parser.add_argument("--version", action="version", version=f"kit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = COMMAND_MODULES
    if argv and argv[0] in LIGHT_COMMANDS:
        modules = [LIGHT_COMMANDS[argv[0]]]
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    return run_command(build_parser(argv), argv, "kit")

if __name__ == "__main__":
    sys.exit(main())
