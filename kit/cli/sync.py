"""``kit sync``: metadata to the school server, roster back, with a progress bar.

    kit sync                 keep syncing whenever a network comes up (Ctrl-C stops)
    kit sync --once          one sync now, then exit (the dispatcher script uses this)
    kit sync --status        what was sent, what the server has applied, last error
    kit sync --setup HOST --host-key 'ssh-ed25519 AAAA…' [--port N] [--user NAME]
    kit sync --show-key      this kit's public key, for ``kit-server add-kit``
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from kit.cli.data_option import add_data_option, data_dir_from
from appliance.paths import KitPaths
from appliance.config import KitConfig
from appliance.errors import KitError
from appliance.tls import TlsStore

PHASES = {"export": "preparing", "push": "sending", "pull": "receiving roster", "apply": "applying", "done": "done"}


class ProgressBar:
    """One line on stderr, redrawn in place; silent when stderr is not a terminal."""

    def __init__(self, stream=sys.stderr, width: int = 30) -> None:
        self.stream, self.width = stream, width
        self.enabled = stream.isatty()

    def __call__(self, phase: str, fraction: float) -> None:
        if not self.enabled:
            return
        order = ["export", "push", "pull", "apply", "done"]
        overall = (order.index(phase) + fraction) / (len(order) - 1) if phase in order else fraction
        filled = int(min(overall, 1.0) * self.width)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {PHASES.get(phase, phase):<18}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _catalogue(data_dir: Path):
    from appliance.catalogue import Catalogue

    if not KitPaths(data_dir).catalogue.exists():
        raise KitError(f"no kit data in {data_dir}")
    return Catalogue(KitPaths(data_dir).catalogue)


def _print_result(result) -> None:
    r = result.roster
    extra = ""
    if r and r.changes:
        extra = (f"; roster: {r.people_added} added, {r.people_updated} updated"
                 f"{', assignment changed' if r.assignment_changed else ''}"
                 f"{', settings ' + ', '.join(r.settings_changed) if r.settings_changed else ''}")
    if result.certificate:
        extra += f"; new {result.certificate} certificate installed"
    for skipped in (r.skipped if r else []):
        if skipped.startswith("certificate:"):
            extra += f"; {skipped}"
    print(f"sync done in {result.seconds:.1f} s: {result.batches_pushed} batches sent, "
          f"server has applied through #{result.acked_through}{extra}")


def run(args: argparse.Namespace) -> int:
    from sync.agent import config
    from sync.agent.config import SyncPaths
    from sync.agent.service import SyncService, status, sync_once

    data_dir = data_dir_from(args)
    paths = SyncPaths(data_dir)
    if args.setup:
        if not args.host_key:
            raise KitError("--setup needs --host-key 'ssh-ed25519 AAAA…' (the server's /etc/ssh/ssh_host_ed25519_key.pub)")
        config.setup(paths, args.setup, args.host_key, port=args.port, user=args.user)
        print(f"sync set up for {args.user}@{args.setup}:{args.port}; this kit's key:")
        print(config.ensure_key(paths))
        return 0
    if args.show_key:
        print(config.ensure_key(paths))
        return 0
    if args.status:
        s = status(data_dir)
        if not s["configured"]:
            print("sync: not set up (kit sync --setup HOST --host-key KEY)")
        print(f"server:            {s['server'] or '-'}")
        print(f"last sync:         {s['last_success_at'] or 'never'} ({s['status'].get('phase')})")
        print(f"events exported:   through #{s['exported_through']}, sent through #{s['pushed_through']}, "
              f"applied by server through #{s['acked_through']}")
        print(f"batches waiting:   {s['pending_batches']}")
        if s["last_error"]:
            print(f"last error:        {s['last_error']}")
        return 0

    catalogue = _catalogue(data_dir)
    kit = KitConfig.load(data_dir)
    tls = TlsStore(kit.paths.tls, kit.kit_id)
    if args.once:
        bar = ProgressBar()
        try:
            result = sync_once(data_dir, catalogue, tls=tls, on_progress=bar, attempts=args.attempts)
        finally:
            bar.finish()
        _print_result(result)
        return 0

    done = threading.Event()
    service = SyncService(data_dir, catalogue, on_status=lambda s: print(f"sync: {s}", flush=True), tls=tls)
    service.start()
    service.trigger()
    print("syncing whenever a network is up; Ctrl-C to stop", file=sys.stderr)
    try:
        while not done.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("sync", help="sync metadata with the school server (never video)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_option(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one sync now, then exit")
    mode.add_argument("--status", action="store_true", help="show what has been sent and applied")
    mode.add_argument("--setup", metavar="HOST", help="name the school server (with --host-key)")
    mode.add_argument("--show-key", action="store_true", help="print this kit's public sync key")
    p.add_argument("--host-key", help="the server's public host key, 'ssh-ed25519 AAAA…'")
    p.add_argument("--attempts", type=int, default=4, help="tries before giving up (waiting 1, 2, 4… s)")
    p.add_argument("--port", type=int, default=22)
    p.add_argument("--user", default="lessonkit")
    p.set_defaults(func=run)
