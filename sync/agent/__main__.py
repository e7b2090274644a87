"""``python -m sync.agent once|watch --data-dir DIR``: sync without ``kit run``.

``once`` is what the NetworkManager dispatcher script runs; ``watch`` runs
the same background service ``kit run`` starts, on its own (for a kit image
without the daemon, and for the network-namespace tests).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from appliance.paths import KitPaths
from appliance.errors import KitError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.agent")
    parser.add_argument("mode", choices=["once", "watch"])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--attempts", type=int, default=4)
    parser.add_argument("--poll", type=float, default=2.0, help="watch: seconds between link checks")
    parser.add_argument("--period", type=float, default=900.0, help="watch: seconds between syncs while online")
    args = parser.parse_args(argv)

    from appliance.catalogue import Catalogue

    from .service import SyncService, sync_once

    from appliance.config import KitConfig
    from appliance.tls import TlsStore

    catalogue = Catalogue(KitPaths(args.data_dir).catalogue)
    kit = KitConfig.load(args.data_dir)
    tls = TlsStore(kit.paths.tls, kit.kit_id)
    if args.mode == "once":
        try:
            result = sync_once(args.data_dir, catalogue, tls=tls, attempts=args.attempts)
        except KitError as exc:
            print(f"sync: {exc}", file=sys.stderr)
            return 1
        print(f"sync: done in {result.seconds:.3f} s, {result.batches_pushed} batches pushed, "
              f"server has applied through {result.acked_through}")
        return 0

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    service = SyncService(args.data_dir, catalogue,
                          on_status=lambda s: print(f"sync: {s}", flush=True),
                          tls=tls, poll_s=args.poll, period_s=args.period, backoff_s=(1.0, 30.0),
                          on_link=lambda online: print(f"sync: link {'up' if online else 'down'}", flush=True))
    service.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
