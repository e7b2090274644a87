"""``kit-server``: the school server's side of sync.

    kit-server init [--root DIR]          directories, database, ssh gate
    kit-server add-kit KIT_ID PUBKEY      admit a kit (authorized_keys line)
    kit-server ingest                     apply what kits pushed
    kit-server publish                    roster, assignment, settings per kit
    kit-server run                        the coordinator's dashboard
    kit-server person|assign|setting|user the coordinator's edits
    kit-server group add NAME --member ID intervisie groups for every kit
    kit-server ca|acme|tls                kit certificates (see sync.server.tls.cli)
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from appliance.errors import run_command

from . import admin, ingest, kits, publish
from .tls import cli as tls_cli
from .layout import DEFAULT_ROOT, Layout


def _root(args) -> Layout:
    return Layout(Path(args.root).resolve())


def cmd_init(args) -> int:
    layout = kits.init(Path(args.root), ssh_user=args.ssh_user, max_batch_bytes=args.max_batch_bytes)
    print(f"kit-server ready in {layout.root}")
    print(f"point sshd at it:  AuthorizedKeysFile {layout.authorized_keys}  (for user {layout.config()['ssh_user']})")
    return 0


def cmd_add_kit(args) -> int:
    kits.add_kit(_root(args), args.kit_id, " ".join(args.pubkey))
    print(f"kit {args.kit_id} admitted")
    return 0


def cmd_ingest(args) -> int:
    reports = ingest.ingest(_root(args), args.kit or None)
    bad = failed = 0
    for kit_id, r in reports.items():
        if r.applied or r.quarantined or r.waiting or r.duplicates:
            print(f"{kit_id}: applied {len(r.applied)} batches ({r.events} events), "
                  f"{len(r.duplicates)} duplicates, {len(r.waiting)} waiting, {len(r.quarantined)} quarantined")
        for name, reason in r.quarantined:
            bad += 1
            print(f"  quarantined {name!r}: {reason}", file=sys.stderr)
        if r.error:  # this kit stopped early; the others were still ingested
            failed += 1
            print(f"{kit_id}: stopped: {r.error}", file=sys.stderr)
    return 1 if failed else 0


def cmd_publish(args) -> int:
    tls_lines: list[str] = []
    changed = publish.publish(_root(args).require(), tls_lines=tls_lines)
    print(f"published: {len(changed)} files changed")
    for line in tls_lines:
        print(f"  tls {line}", file=sys.stdout if ": issued " in line else sys.stderr)
    return 0


def cmd_person(args) -> int:
    pid = admin.add_person(_root(args), args.name, args.role, args.recipient, args.id)
    print(pid)
    return 0


def cmd_group(args) -> int:
    print(admin.add_group(_root(args), args.name, args.member, args.id))
    return 0


def cmd_assign(args) -> int:
    admin.assign(_root(args), args.kit_id, args.teacher_id, args.coach_id)
    return 0


def cmd_setting(args) -> int:
    admin.set_setting(_root(args), args.key, args.value)
    return 0


def cmd_user(args) -> int:
    password = os.environ.get("KIT_SERVER_PASSWORD") or getpass.getpass(f"password for {args.name}: ")
    admin.add_user(_root(args), args.name, args.role, password, args.language)
    return 0


def cmd_run(args) -> int:
    from waitress import serve

    from .dashboard import create_app

    app = create_app(_root(args).require())
    print(f"dashboard on http://{args.host}:{args.port}/")
    serve(app, host=args.host, port=args.port, threads=4)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kit-server", description="School server for lesson kits (metadata only).")
    parser.add_argument("--root", default=os.environ.get("KIT_SERVER_ROOT", str(DEFAULT_ROOT)),
                        help=f"server directory (default $KIT_SERVER_ROOT or {DEFAULT_ROOT})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="create the directory layout and the database")
    p.add_argument("--root", default=argparse.SUPPRESS)
    p.add_argument("--ssh-user", help="the Unix user kits log in as (default lessonkit)")
    p.add_argument("--max-batch-bytes", type=int, help="refuse batch files larger than this")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("add-kit", help="admit a kit with its ssh-ed25519 public key")
    p.add_argument("kit_id")
    p.add_argument("pubkey", nargs="+", help="'ssh-ed25519 AAAA…'")
    p.set_defaults(func=cmd_add_kit)

    p = sub.add_parser("ingest", help="apply pushed batches, quarantine bad ones")
    p.add_argument("--kit", action="append", help="only this kit (repeatable)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("publish", help="write roster, assignment and settings for every kit")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("person", help="add or update a teacher or coach with their age public key")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=["teacher", "coach"])
    p.add_argument("--recipient", required=True, help="age1… public key")
    p.add_argument("--id")
    p.set_defaults(func=cmd_person)

    p = sub.add_parser("group", help="intervisie groups published to every kit")
    gsub = p.add_subparsers(dest="group_command", required=True)
    g = gsub.add_parser("add", help="a group: whom a teacher may choose to share a clip with (never footage)")
    g.add_argument("name")
    g.add_argument("--member", action="append", required=True, metavar="PERSON_ID")
    g.add_argument("--id", help="to change an existing group (gs-…)")
    g.set_defaults(func=cmd_group)

    p = sub.add_parser("assign", help="the teacher and coach a kit records for")
    p.add_argument("kit_id")
    p.add_argument("teacher_id")
    p.add_argument("coach_id")
    p.set_defaults(func=cmd_assign)

    p = sub.add_parser("setting", help="a setting published to every kit, e.g. retention_days 90")
    p.add_argument("key")
    p.add_argument("value")
    p.set_defaults(func=cmd_setting)

    p = sub.add_parser("user", help="a dashboard login (password from $KIT_SERVER_PASSWORD or prompt)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=["coordinator", "leader"])
    p.add_argument("--language", default="nl", choices=["nl", "en"])
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("run", help="serve the dashboard")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.set_defaults(func=cmd_run)

    tls_cli.add_commands(sub, _root)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv, "kit-server")

if __name__ == "__main__":
    sys.exit(main())
