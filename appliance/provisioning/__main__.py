"""``python -m appliance.provisioning`` = ``kit firstboot`` (for a system without the kit command on PATH)."""

import argparse
import sys

from appliance.errors import KitError
from appliance.provisioning.cli import register

parser = argparse.ArgumentParser(prog="lessonkit-firstboot")
register(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args(["firstboot", *sys.argv[1:]])
try:
    sys.exit(args.func(args))
except KitError as exc:
    print(f"kit: {exc}", file=sys.stderr)
    sys.exit(exc.exit_code)
