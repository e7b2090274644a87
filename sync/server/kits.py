"""Setting a server up and admitting kits: directories, the gate, authorized_keys.

Every kit logs in as the same Unix user with its own ed25519 key. Its
``authorized_keys`` line is ``restrict`` (no shell, no pty, no forwarding)
with a forced command, ``kit-gate <kit-id>``, that looks at what rsync asked
for (``SSH_ORIGINAL_COMMAND``) and starts exactly one of:

* a pull (``rsync --server --sender …``): ``rrsync -ro kits/<id>/roster``
* a push (any other ``rsync --server …``):
  ``rrsync -wo -no-del -no-overwrite -no-lock kits/<id>/inbox``

Anything else is refused. One key serves both directions because OpenSSH
picks the first ``authorized_keys`` line whose key matches, so two lines with
one key cannot give two forced commands; the gate is that choice, and rrsync
still enforces each side's restrictions by itself (``-wo`` refuses to send,
``-ro`` refuses to receive, ``-no-overwrite`` forces ``--ignore-existing``,
``-no-del`` refuses every ``--delete``/``--remove`` option).

A push also meets the server's limits, whatever the client asked for
(``config.json``): the gate puts ``--max-size=<max_batch_bytes>`` first in
the command and refuses a client's own ``--max-size`` (rsync takes the last
one), sets ``ulimit -f`` to the same size for a client that lies about a
file's length, refuses to start while the inbox is full
(``inbox_max_files``/``inbox_max_bytes``) and stops a session that fills it
past that.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import re
import shlex
from pathlib import Path

from appliance.durable import write_atomic
from appliance.errors import KitError
from sync.protocol import KIT_ID_RE

from . import db
from .layout import Layout

_PUBKEY_RE = re.compile(r"^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]{43,}={0,2}$")

GATE_TEMPLATE = """#!/bin/sh
# Forced command for every kit key, written by kit-server init and add-kit.
# Pulls get the kit's read-only roster directory, pushes its write-only inbox.
set -eu
kit="${1:-}"
case "$kit" in ""|*[!a-z0-9-]*) echo "kit-gate: bad kit id" >&2; exit 1 ;; esac
kits=%(kits)s
inbox="$kits/$kit/inbox"
max_file=%(max_file)d
max_bytes=%(max_bytes)d
max_files=%(max_files)d

# Exit 0 if the inbox holds more than max_files - $1 entries or max_bytes - $2
# bytes (everything below it, rsync's temp files and directories included):
# "over 1 1" is "full", "over 0 0" is "past the cap".
over() {
  find "$inbox" -mindepth 1 -printf '%%s\\n' 2>/dev/null |
    awk -v mf="$((max_files - $1))" -v mb="$((max_bytes - $2))" \\
      '{ n++; b += $1 } END { exit !(n > mf || b > mb) }'
}

case "${SSH_ORIGINAL_COMMAND:-}" in
  "rsync --server --sender "*)
    exec %(rrsync)s -ro "$kits/$kit/roster" ;;
  *max-size*)
    echo "kit-gate: the server sets the file size limit; push without --max-size" >&2
    exit 1 ;;
  "rsync --server "*)
    if over 1 1; then
      echo "kit-gate: inbox full ($max_files files or $max_bytes bytes); push again after the server has ingested" >&2
      exit 1
    fi
    # rsync skips a file announced larger than max_file; the kernel stops a
    # client that announces less and sends more (SIGXFSZ, 512-byte blocks).
    ulimit -f $(( (max_file + 511) / 512 ))
    # One session may not fill the inbox past its cap either: a watchdog ends
    # the transfer (this process, once exec'd into rsync) when it does.
    gate=$$
    (
      while kill -0 "$gate" 2>/dev/null; do
        if over 0 0; then
          kill -TERM "$gate" 2>/dev/null || true
          exit 0
        fi
        sleep 0.2
      done
    ) </dev/null >/dev/null 2>&1 &
    SSH_ORIGINAL_COMMAND="rsync --server --max-size=$max_file ${SSH_ORIGINAL_COMMAND#rsync --server }"
    export SSH_ORIGINAL_COMMAND
    exec %(rrsync)s -wo -no-del -no-overwrite -no-lock "$inbox" ;;
  *)
    echo "kit-gate: this key may only push batches or pull its roster with rsync" >&2
    exit 1 ;;
esac
"""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def init(root: Path, *, ssh_user: str | None = None, max_batch_bytes: int | None = None) -> Layout:
    import json

    layout = Layout(Path(root).resolve())
    for d in (layout.root, layout.ssh, layout.kits, layout.quarantine):
        d.mkdir(parents=True, exist_ok=True)
    layout.root.chmod(0o755)
    layout.kits.chmod(0o755)
    layout.ssh.chmod(0o755)
    layout.quarantine.chmod(0o700)
    conf = layout.config()
    if ssh_user:
        conf["ssh_user"] = ssh_user
    if max_batch_bytes:
        conf["max_batch_bytes"] = int(max_batch_bytes)
    layout.config_file.write_text(json.dumps(conf, indent=1, sort_keys=True) + "\n")
    db.create(layout.db)
    layout.db.chmod(0o600)
    write_gate(layout, conf)
    write_authorized_keys(layout)
    return layout


def write_gate(layout: Layout, conf: dict | None = None) -> None:
    """(Re)write the forced command with the limits in ``config.json``."""
    conf = conf or layout.config()
    text = GATE_TEMPLATE % {"kits": shlex.quote(str(layout.kits)), "rrsync": shlex.quote(conf["rrsync"]),
                            "max_file": int(conf["max_batch_bytes"]), "max_bytes": int(conf["inbox_max_bytes"]),
                            "max_files": int(conf["inbox_max_files"])}
    write_atomic(layout.gate, text.encode(), mode=0o755)


def _ssh_uid(conf: dict) -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(conf["ssh_user"])
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def add_kit(layout: Layout, kit_id: str, pubkey: str) -> None:
    """Admit a kit: its directories and its authorized_keys line."""
    layout.require()
    if not KIT_ID_RE.match(kit_id):
        raise KitError(f"a kit id is 2-63 lower-case letters, digits and '-', not {kit_id!r}")
    pubkey = " ".join(pubkey.split()[:2])
    if not _PUBKEY_RE.match(pubkey):
        raise KitError("the kit key must be an ssh-ed25519 public key (the kit's DATA/sync/id_ed25519.pub)")
    conn = db.connect(layout.db)
    try:
        other = conn.execute("SELECT id FROM kits WHERE pubkey = ? AND id != ?", (pubkey, kit_id)).fetchone()
        if other:
            raise KitError(f"this key already belongs to kit {other['id']}")
        conn.execute(
            "INSERT INTO kits (id, pubkey, added_at) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET pubkey = excluded.pubkey", (kit_id, pubkey, _now()))
    finally:
        conn.close()
    conf = layout.config()
    owner = _ssh_uid(conf)
    kit_dir = layout.kit(kit_id)
    for d, mode in ((kit_dir, 0o755), (layout.inbox(kit_id), 0o700), (layout.roster(kit_id), 0o755),
                    (layout.archive(kit_id), 0o700)):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(mode)
    if owner:
        # Only the inbox belongs to the login user: the roster and archive
        # stay the server's, so even outside rrsync the kit cannot change them.
        os.chown(layout.inbox(kit_id), *owner)
    write_authorized_keys(layout)
    from .publish import publish

    publish(layout, [kit_id])


def write_authorized_keys(layout: Layout) -> None:
    conn = db.connect(layout.db)
    try:
        rows = conn.execute("SELECT id, pubkey FROM kits ORDER BY id").fetchall()
    finally:
        conn.close()
    lines = ["# Written by kit-server; edits are lost on the next add-kit.\n"]
    for row in rows:
        command = f"{layout.gate} {row['id']}"
        lines.append(f'restrict,command="{command}" {row["pubkey"]} kit:{row["id"]}\n')
    write_atomic(layout.authorized_keys, "".join(lines).encode(), mode=0o644)
