"""Correcting wall times once a trusted time arrives (the Pi has no RTC)."""

from __future__ import annotations

from appliance.clock import iso_utc

from .database import CatalogueBase

CLOCK_SETTING = "clock.trusted_offset"


class TimekeepingMixin(CatalogueBase):
    def restore_clock(self) -> None:
        """Re-adopt a trusted offset stored earlier in this same boot (daemon restart)."""
        saved = self.get_setting(CLOCK_SETTING)
        if saved and saved.get("boot_id") == self.clock.boot_id:
            self.clock.trust(0.0, offset=float(saved["offset"]))

    def trust_time(self, now_epoch: float, source: str = "unknown") -> int:
        """Adopt ``now_epoch`` as the true time; fix this boot's untrusted wall times.

        Returns how many recordings were corrected. Recordings of earlier
        boots keep ``clock_trusted = 0``: their monotonic offsets belong to
        a clock that no longer runs.
        """
        self.clock.trust(now_epoch)
        offset = self.clock.offset
        assert offset is not None
        boot_id = self.clock.boot_id
        with self.transaction() as db:
            self.set_setting(
                CLOCK_SETTING, {"boot_id": boot_id, "offset": offset, "source": source}, emit=False
            )
            rows = self.query(
                "SELECT id, started_mono FROM recordings WHERE boot_id = ? AND clock_trusted = 0",
                (boot_id,),
            )
            for row in rows:
                started_at = iso_utc(row["started_mono"] + offset)
                db.execute(
                    "UPDATE recordings SET started_at = ?, clock_trusted = 1 WHERE id = ?",
                    (started_at, row["id"]),
                )
                self.emit(
                    "recording.time_corrected",
                    {"recording_id": row["id"], "started_at": started_at, "source": source},
                )
        return len(rows)
