"""The kit's housekeeping thread: trajectory steps follow finished recordings,
and retention deletes what is due. ``kit run`` starts it next to sync.

>>> import tempfile, pathlib
>>> from appliance.catalogue import Catalogue
>>> data = pathlib.Path(tempfile.mkdtemp())
>>> keeper = Housekeeping(Catalogue(data / "catalogue.db"), data, period_s=3600)
>>> keeper.tick()
{'advanced': 0, 'deleted': 0}
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from .engine import Retention

log = logging.getLogger("kit.housekeeping")


class Housekeeping:
    def __init__(self, catalogue: Any, data_dir: str | Path, period_s: float = 10.0) -> None:
        self.retention = Retention(catalogue, data_dir)
        self.period_s = period_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> dict[str, int]:
        advanced = self.retention.trajectories.advance_recorded()
        deleted = self.retention.run()
        return {"advanced": len(advanced), "deleted": len(deleted)}

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.tick()
            except Exception:  # one bad pass must not end housekeeping (or the kit)
                log.exception("housekeeping pass failed")

    def start(self) -> "Housekeeping":
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="housekeeping", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None


def start_housekeeping(catalogue: Any, data_dir: str | Path) -> Housekeeping | None:
    """Start the thread; a failure here must never stop the kit from recording."""
    try:
        return Housekeeping(catalogue, data_dir).start()
    except Exception:
        log.exception("housekeeping did not start")
        return None
