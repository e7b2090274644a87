"""``kit firstboot``: run by lessonkit-firstboot.service once, on a kit's first boot."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.errors import KitError


def _run(args: argparse.Namespace) -> int:
    from appliance.provisioning.firstboot import Layout, provision, report_error

    layout = Layout.for_root(Path(args.root), args.boot, args.template)
    try:
        kit_id = provision(layout, grow=not args.no_grow)
    except KitError as exc:
        report_error(layout, str(exc))
        raise
    except OSError as exc:
        # A full or read-only card: one line for the journal and the boot
        # partition; the committed identity (if any) is kept for the next try.
        message = f"cannot write {exc.filename or 'a file'}: {exc.strerror}"
        report_error(layout, message)
        raise KitError(message) from None
    print(kit_id)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "firstboot",
        help="provision this kit once: identity, keys, hotspot, label (run by systemd)",
        description="Give a freshly flashed kit its identity. Safe to interrupt; does nothing once done.",
    )
    p.add_argument("--root", default="/", help="root of the system to provision (default /)")
    p.add_argument("--boot", default=None, help="boot partition (default ROOT/boot/firmware)")
    p.add_argument("--template", default=None, help="hotspot profile template (default ROOT/usr/share/lessonkit/hotspot.nmconnection.in)")
    p.add_argument("--no-grow", action="store_true", help="leave the data partition as it is")
    p.set_defaults(func=_run)
