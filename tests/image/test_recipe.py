"""The image recipe's fast paths, run by the normal `make test` (no image is built)."""

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_production_base_fails_early_and_clearly_without_the_raspberry_pi_archive(tmp_path):
    # Port 9 (discard) on loopback: nothing listens, so the archive is unreachable.
    res = subprocess.run(
        [str(REPO / "image-build/build.sh"), "--base", "raspios", "--out", str(tmp_path)],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path), "RPI_MIRROR": "http://127.0.0.1:9/debian"},
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("image build: the Raspberry Pi archive http://127.0.0.1:9/debian is unreachable")
    assert "--base debian" in last
    assert list(tmp_path.iterdir()) == [], "nothing is built or downloaded before the check"


def test_unknown_base_is_refused():
    res = subprocess.run([str(REPO / "image-build/build.sh"), "--base", "ubuntu"], capture_output=True, text=True)
    assert res.returncode == 1 and "--base must be debian or raspios" in res.stderr
