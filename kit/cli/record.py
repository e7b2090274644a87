"""``kit record start|stop|status|bookmark``: ask the running kit."""

from __future__ import annotations

import argparse
import json

from kit.cli.data_option import add_data_option, data_dir_from
from appliance.daemon.control import call


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("record", help="start, stop or bookmark a recording")
    parser.add_argument("action", choices=["start", "stop", "status", "bookmark"])
    parser.add_argument("--json", action="store_true", help="print the daemon's answer as JSON")
    add_data_option(parser)
    parser.set_defaults(func=_record)


def _record(args: argparse.Namespace) -> int:
    result = call(data_dir_from(args), args.action)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    if args.action == "start":
        print(f"recording {result['recording_id']} (red LED on)")
    elif args.action == "stop":
        print(f"stopped {result['id']}: {result['duration_s']:.1f} s in "
              f"{result['segments']} segments, {result['bytes']} bytes ({result['state']})")
    elif args.action == "bookmark":
        print(f"bookmark at {result['offset_s']:.1f} s in {result['recording_id']}")
    else:
        print(describe_status(result))
    return 0


def describe_status(status: dict) -> str:
    if status["state"] == "recording":
        line = f"recording {status['recording_id']} for {status['elapsed_s']:.0f} s"
    elif status["state"] == "cannot_record":
        line = f"cannot record: {status['message']}"
    else:
        line = "ready to record"
    if status.get("teacher"):
        line += f" | teacher {status['teacher']}, coach {status['coach']}"
    line += f" | about {status['minutes_left']:.0f} min of space"
    if status.get("error"):
        line += f" | error: {status['error']}"
    return line
