"""A recorder process for the power-loss trials: records until it is killed.

Usage: python power_loss_worker.py DATA_DIR
Prints one JSON line with the recording id once the camera runs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from appliance.catalogue import Catalogue
from appliance.config import KitConfig
from appliance.daemon import KitController
from appliance.daemon.hardware import make_camera


def main(data_dir: str) -> None:
    config = KitConfig(data_dir=Path(data_dir), simulate=True, width=160, height=96, fps=15,
                       segment_seconds=1.0, min_minutes_left=0.0, reserve_bytes=0,
                       serve_review=False)
    catalogue = Catalogue(config.catalogue_path)
    controller = KitController(config, catalogue, make_camera(config), None)
    recording_id = controller.start_recording(source="cli")
    print(json.dumps({"recording_id": recording_id}), flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1])
