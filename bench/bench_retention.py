"""Retention: crypto-shredding a recording against plain ``shutil.rmtree`` of
an identical copy, and one housekeeping pass over a catalogue of many
recordings against a bare ``SELECT *`` of the same rows.

The recording is a synthetic one-hour lesson: 1,800 age-encrypted segments of
64 KiB (real age files, so the header search is the real one). Shredding
overwrites each header and fsyncs each file and directory; ``rmtree`` only
unlinks, so the ratio is the price of shredding.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import tempfile
import time
from pathlib import Path


def _make_recording(directory: Path, segments: int, size: int, recipients: list) -> None:
    from appliance import age

    directory.mkdir(parents=True)
    payload = os.urandom(size)
    sealed = io.BytesIO()
    with age.Encryptor(sealed, recipients) as w:
        w.write(payload)
    data = sealed.getvalue()
    for i in range(segments + 1):
        name = "init.mp4.age" if i == 0 else f"seg-{i:06d}.m4s.age"
        (directory / name).write_bytes(data)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(quick: bool) -> str:
    from appliance import age
    from appliance.catalogue import Catalogue
    from appliance.retention import Retention
    from appliance.retention.shred import shred_tree

    segments = 180 if quick else 1800
    rows = 200 if quick else 2000
    recipients = [age.generate_identity().recipient, age.generate_identity().recipient]
    work = Path(tempfile.mkdtemp(prefix="bench-retention-", dir="/var/tmp"))
    try:
        _make_recording(work / "a", segments, 64 * 1024, recipients)
        shutil.copytree(work / "a", work / "b")
        os.sync()
        t_shred = _timed(lambda: shred_tree(work / "a"))
        t_rm = _timed(lambda: shutil.rmtree(work / "b"))

        cat = Catalogue(work / "data" / "catalogue.db")
        p = cat.add_person("T", "teacher", str(recipients[0]))
        c = cat.add_person("C", "coach", str(recipients[1]))
        with cat.transaction() as db:
            for i in range(rows):
                rec = cat.create_recording(p["id"], c["id"], [str(r) for r in recipients])
                db.execute("UPDATE recordings SET state = 'complete' WHERE id = ?", (rec["id"],))
        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        retention = Retention(cat, work / "data", now=lambda: now)
        t_first = _timed(retention.run)       # sets every deletion date (one event each)
        t_pass = _timed(retention.run)        # a steady-state pass: nothing changes
        t_select = _timed(lambda: cat.query("SELECT * FROM recordings"))
        cat.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    return "\n".join([
        "## Retention",
        "",
        f"Shredding a one-hour recording ({segments} age segments of 64 KiB, header overwrite + fsync per file) "
        "against `shutil.rmtree` of an identical copy, and a housekeeping pass over "
        f"{rows} recordings against a bare `SELECT *` of them.",
        "",
        "| measure | seconds | ratio |",
        "|---|---|---|",
        f"| shred {segments} files | {t_shred:.3f} | {t_shred / t_rm:.1f}x rmtree |",
        f"| rmtree (reference) | {t_rm:.3f} | 1.0 |",
        f"| first pass, {rows} deletion dates set | {t_first:.3f} | {t_first / t_select:.0f}x SELECT |",
        f"| steady pass, nothing due | {t_pass:.3f} | {t_pass / t_select:.0f}x SELECT |",
        f"| SELECT * (reference) | {t_select:.4f} | 1.0 |",
        "",
    ])
