"""``kit hotspot rotate``: a new Wi-Fi password and teacher card (run as root by IT)."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.provisioning import label
from appliance.provisioning.firstboot import Layout
from appliance.provisioning.hotspot import rotate


def register(subparsers: argparse._SubParsersAction) -> None:
    hotspot = subparsers.add_parser("hotspot", help="the kit's own Wi-Fi")
    sub = hotspot.add_subparsers(dest="hotspot_command", metavar="ACTION", required=True)
    p = sub.add_parser("rotate", help="new Wi-Fi password and teacher card (when a card is lost)")
    p.add_argument("--root", default="/", help="root of the kit's system (default /)")
    p.add_argument("--boot", default=None, help="boot partition (default ROOT/boot/firmware)")
    p.set_defaults(func=_rotate)


def _rotate(args: argparse.Namespace) -> int:
    layout = Layout.for_root(Path(args.root), args.boot)
    ssid = rotate(layout)
    print(f"new password for Wi-Fi {ssid!r}; devices that knew the old one are disconnected")
    print(f"print the new teacher card: {layout.boot / label.CARD_HTML}")
    return 0
