"""Entry point of the ``kit`` command.

Each area of the kit contributes its sub-commands through a module with a
``register(subparsers)`` function; this file only wires them together and
turns :class:`~appliance.errors.KitError` into one clear line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from appliance import __version__
from appliance.errors import run_command

# Modules that add sub-commands. A module that is missing (an area not built
# yet) is skipped rather than breaking the whole command.
COMMAND_MODULES = [
    "appliance.age.cli",
    "appliance.provisioning.cli",
    "appliance.cli.run",
    "appliance.cli.people",
    "appliance.cli.assign",
    "appliance.cli.record",
    "appliance.cli.button",
    "appliance.cli.trajectory",
    "sync.cli_kit",
    "ui.cli",
]


# Commands whose module is known in advance: ``kit age …`` runs in scripts
# on large files and should not first load the web app and every other area
# (about 0.5 s here).
LIGHT_COMMANDS = {"age": "appliance.age.cli"}


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
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    return run_command(build_parser(argv), argv, "kit")

if __name__ == "__main__":
    sys.exit(main())
