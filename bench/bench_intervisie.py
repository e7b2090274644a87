"""Intervisie: creating a share of a 60 s clip (decrypt the segments, cut
exactly, re-encode, encrypt to the group), against plain age encryption of
the same clip's bytes in the same run.

The recording is a real one from the simulated camera (H.264 + AAC at
1280×720, 30 fps, 2 s segments), made once before timing. A share goes to
five recipients (the teacher and four members). The reference encrypts the
finished clip MP4 to the same five recipients with the streaming
``Encryptor``, which is what remains of the work if cutting were free.
"""

from __future__ import annotations

import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path

WIDTH, HEIGHT = 1280, 720


def _recording(data: Path, seconds: float):
    from appliance import age
    from appliance.catalogue import Catalogue
    from appliance.footage.simulated_lesson import record_simulated_lesson
    from appliance.identities import create_person

    cat = Catalogue(data / "catalogue.db")
    passphrase = "bench-intervisie-passphrase"
    teacher = create_person(data, cat, "Anna", "teacher", passphrase, work_factor=10)
    coach = create_person(data, cat, "Bram", "coach", passphrase, work_factor=10)
    members = [create_person(data, cat, f"Lid {i}", "teacher", passphrase, work_factor=10) for i in range(4)]
    recipients = [teacher["recipient"], coach["recipient"]]
    recording_id = record_simulated_lesson(cat, data, teacher, coach, seconds, width=WIDTH, height=HEIGHT,
                                           timeout_s=600)
    from appliance.identities import unwrap

    return cat, recording_id, teacher, members, unwrap(data, teacher["id"], passphrase)


def run(quick: bool) -> str:
    from appliance import age
    from appliance.intervisie import Shares

    clip_s = 10.0 if quick else 60.0
    reps = 2 if quick else 3
    work = Path(tempfile.mkdtemp(prefix="bench-intervisie-", dir="/var/tmp"))
    try:
        cat, recording_id, teacher, members, key = _recording(work, clip_s + 6.0)
        shares = Shares(cat, work)
        group = shares.groups.create("Bench", [m["id"] for m in members], created_by=teacher["id"])
        recipients = [age.parse_recipient(r) for r in [teacher["recipient"], *(m["recipient"] for m in members)]]
        share_times, encrypt_times, sizes = [], [], []
        for _ in range(reps):
            start = time.perf_counter()
            row = shares.create(recording_id, teacher["id"], [key], group["id"], 2.5, 2.5 + clip_s)
            share_times.append(time.perf_counter() - start)
            clip = age.Decryptor(open(shares.clip_path(row["id"]), "rb"), [key]).read()
            sizes.append(len(clip))
            start = time.perf_counter()
            with open(work / "reference.age", "wb") as f, age.Encryptor(f, recipients) as w:
                w.write(clip)
            encrypt_times.append(time.perf_counter() - start)
            shares.withdraw(row["id"], teacher["id"])
        cat.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    share_t, enc_t = statistics.median(share_times), statistics.median(encrypt_times)
    mib = statistics.median(sizes) / (1 << 20)
    return "\n".join([
        "## Intervisie: sharing a clip",
        "",
        f"A {clip_s:.0f} s clip of a {WIDTH}×{HEIGHT} simulated-camera recording, shared with a group of four "
        f"(five recipients with the teacher); median of {reps}. The share decrypts the overlapping segments, "
        "cuts at the exact in and out point (re-encoding H.264 + AAC with x264 `veryfast`), encrypts the MP4 and "
        "seals the share document; the reference encrypts the finished clip's bytes to the same recipients.",
        "",
        "| | time | ratio to the reference |",
        "|---|---|---|",
        f"| create a share ({mib:.1f} MiB clip) | {share_t:.2f} s | **{share_t / enc_t:.0f}×** |",
        f"| reference: age-encrypt the same bytes | {enc_t * 1000:.0f} ms | 1 |",
        "",
        f"The share takes {share_t / clip_s:.2f} s per second of clip on this machine: the re-encode is "
        "nearly all of it, the price of a first frame that is the in point itself in every player.",
    ])
