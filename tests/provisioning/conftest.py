"""A fake kit root for first boot: the directories a real image has, nothing else."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "firmware-config/NetworkManager/hotspot.nmconnection.in"


@pytest.fixture
def kit_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for d in ("etc/ssh", "boot/firmware", "var/lib/lessonkit", "usr/share/lessonkit"):
        (root / d).mkdir(parents=True)
    (root / "usr/share/lessonkit/hotspot.nmconnection.in").write_bytes(TEMPLATE.read_bytes())
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\nlessonkit:x:990:990::/var/lib/lessonkit:/usr/sbin/nologin\nkitadmin:x:1000:1000::/home/kitadmin:/bin/bash\n")
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\nlessonkit:!:19000:0:99999:7:::\nkitadmin:!:19000:0:99999:7:::\n")
    return root
