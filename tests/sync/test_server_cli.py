"""kit-server as a coordinator types it: one-line errors, files where the docs say."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDa lessonkit"


def ks(root, *args, env=None):
    return subprocess.run([sys.executable, "-m", "sync.server.cli", "--root", str(root), *args],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_setting_up_a_server_and_a_kit(tmp_path):
    root = tmp_path / "srv"
    assert ks(root, "init").returncode == 0
    assert ks(root, "add-kit", "kit-3f9a", *KEY.split()).returncode == 0
    line = (root / "ssh" / "authorized_keys").read_text().splitlines()[-1]
    assert line.startswith(f'restrict,command="{root.resolve()}/ssh/kit-gate kit-3f9a" ssh-ed25519 AAAA')
    teacher = ks(root, "person", "Anna de Vries", "--role", "teacher", "--recipient", "age1" + "q" * 58).stdout.strip()
    coach = ks(root, "person", "Bert Jansen", "--role", "coach", "--recipient", "age1" + "p" * 58).stdout.strip()
    assert ks(root, "assign", "kit-3f9a", teacher, coach).returncode == 0
    assert ks(root, "setting", "retention_days", "90").returncode == 0
    assert ks(root, "publish").returncode == 0
    roster = root / "kits" / "kit-3f9a" / "roster"
    assert json.loads((roster / "assignment.json").read_text())["coach_id"] == coach
    assert json.loads((roster / "settings.json").read_text())["settings"] == {"retention_days": 90}
    assert [p["name"] for p in json.loads((roster / "roster.json").read_text())["people"]] != []
    assert ks(root, "user", "co", "--role", "coordinator", env={"KIT_SERVER_PASSWORD": "long enough pw"}).returncode == 0


def test_mistakes_get_one_clear_line(tmp_path):
    root = tmp_path / "srv"
    out = ks(root, "ingest")
    assert out.returncode == 1 and out.stderr.strip() == f"kit-server: no kit-server here: run kit-server init --root {root.resolve()}"
    ks(root, "init")
    for args, message in [
        (("add-kit", "Kit One", *KEY.split()), "a kit id is"),
        (("add-kit", "kit-1", "ssh-rsa", "AAAAB3Nza"), "must be an ssh-ed25519 public key"),
        (("add-kit", "kit-1", 'ssh-ed25519 AAAA" ,command="sh'), "must be an ssh-ed25519 public key"),
        (("person", "X", "--role", "teacher", "--recipient", "AGE-SECRET-KEY-1QQ"), "must be an age1"),
        (("setting", "shell", "1"), "unknown setting"),
        (("setting", "retention_days", "-3"), "is not allowed for retention_days"),
        (("assign", "kit-1", "a", "b"), "assign needs"),
    ]:
        out = ks(root, *args)
        assert out.returncode == 1, args
        assert len(out.stderr.strip().splitlines()) == 1 and message in out.stderr, (args, out.stderr)
    assert ks(root, "add-kit", "kit-1", *KEY.split()).returncode == 0
    out = ks(root, "add-kit", "kit-2", *KEY.split())
    assert "already belongs to kit kit-1" in out.stderr
