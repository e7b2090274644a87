"""``kit run``: the appliance itself (recorder, button, LEDs, review page, sync)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from kit.cli.data_option import add_data_option, data_dir_from
from appliance.config import CAMERAS, KitConfig
from appliance.errors import KitError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run the kit (the long-running process)")
    parser.add_argument("--simulate", action="store_true",
                        help="simulated camera and button (any computer)")
    parser.add_argument("--port", type=int, default=None,
                        help="review page port, HTTPS (default 8443 with --simulate, else 443)")
    parser.add_argument("--http-port", type=int, default=None,
                        help="plain-HTTP port that only redirects to HTTPS (default 8080 with --simulate, else 80)")
    parser.add_argument("--camera", choices=["360", *CAMERAS], default=None,
                        help="the camera (default: kit.toml's, else picamera); "
                             "with --simulate, 360 films a virtual classroom as a 360° camera does")
    parser.add_argument("--sim-audio", metavar="FILE", default=None,
                        help="with --simulate: record this sound file (any format FFmpeg reads) instead of the test tone")
    parser.add_argument("--no-live-talk", action="store_true",
                        help="do not measure talk time while recording (it can still be measured afterwards)")
    parser.add_argument("--demo", action="store_true",
                        help="create and assign a demo teacher and coach")
    parser.add_argument("--no-review", action="store_true",
                        help="do not serve the review page (recorder and controls only)")
    add_data_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from kit.run import run

    logging.basicConfig(
        level=os.environ.get("KIT_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = KitConfig.load(data_dir_from(args, simulate=args.simulate),
                            simulate=args.simulate or None, port=args.port,
                            http_port=args.http_port,
                            camera="360-simulated" if args.camera == "360" else args.camera,
                            serve_review=False if args.no_review else None,
                            sim_audio=str(Path(args.sim_audio).absolute()) if args.sim_audio else None,
                            live_talk=False if args.no_live_talk else None)
    if args.camera in ("360", "simulated", "360-simulated") and not config.simulate:
        raise KitError(f"--camera {args.camera} needs --simulate")
    if args.sim_audio and not config.simulate:
        raise SystemExit("--sim-audio needs --simulate")
    if args.sim_audio and not Path(args.sim_audio).is_file():
        raise SystemExit(f"--sim-audio: no such file: {args.sim_audio}")
    return run(config, demo=args.demo)
