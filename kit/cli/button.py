"""``kit button press|hold SECONDS``: press the simulated button of `kit run --simulate`."""

from __future__ import annotations

import argparse

from kit.cli.data_option import add_data_option, data_dir_from
from appliance.daemon.control import call
from appliance.errors import KitError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("button", help="press the kit's button (simulation)")
    sub = parser.add_subparsers(dest="button_action", metavar="ACTION", required=True)
    press = sub.add_parser("press", help="a short press: start, or bookmark while recording")
    add_data_option(press)
    press.set_defaults(func=_press, seconds=0.1)
    hold = sub.add_parser("hold", help="hold: 2 s stops a recording, 5 s when idle shuts down")
    hold.add_argument("seconds", type=float)
    add_data_option(hold)
    hold.set_defaults(func=_press)


def _press(args: argparse.Namespace) -> int:
    if not 0 < args.seconds <= 30:
        raise KitError("hold the button between 0 and 30 seconds")
    status = call(data_dir_from(args), "button", timeout=args.seconds + 30, seconds=args.seconds)
    state = status["state"]
    if state == "recording":
        print(f"recording {status['recording_id']} ({status['elapsed_s']:.0f} s); green LED: {status['led']}")
    elif state == "cannot_record":
        print(f"cannot record: {status['message']}; green LED: {status['led']}")
    else:
        print(f"{'shutting down' if status.get('shutdown') else 'idle'}; green LED: {status['led']}")
    return 0
