"""``kit trajectory ...`` and ``kit retention ...``: coaching trajectories and
retention from the command line, on the kit's data directory.

    kit trajectory new --teacher NAME --coach NAME [--method M] [--recordings N] [--question-file F]
    kit trajectory list | show ID
    kit trajectory intake|review|close|pause|resume|stop|activate ID
    kit retention status | run
"""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.paths import KitPaths
from appliance.catalogue import Catalogue
from kit.cli.data_option import add_data_option, data_dir_from
from appliance.errors import KitError
from appliance.trajectory import METHODS, Trajectories

ACTIONS = ("intake", "review", "close", "pause", "resume", "stop", "activate")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("trajectory", help="coaching trajectories: create, list, move a step")
    sub = parser.add_subparsers(dest="trajectory_command", metavar="ACTION", required=True)
    p = sub.add_parser("new", help="start a trajectory (it becomes the kit's trajectory)")
    p.add_argument("--teacher", required=True, metavar="NAME")
    p.add_argument("--coach", required=True, metavar="NAME")
    p.add_argument("--method", default="beeldcoaching", choices=METHODS)
    p.add_argument("--recordings", type=int, default=3, help="coaching recordings after the baseline (1-5)")
    p.add_argument("--question-file", metavar="FILE",
                   help="the learning question (stored encrypted to the teacher and the coach)")
    add_data_option(p)
    p = sub.add_parser("list", help="all trajectories on this kit")
    add_data_option(p)
    p = sub.add_parser("show", help="state, steps and dates of one trajectory")
    p.add_argument("trajectory_id")
    add_data_option(p)
    for action in ACTIONS:
        p = sub.add_parser(action, help=f"{action} a trajectory")
        p.add_argument("trajectory_id")
        add_data_option(p)
    parser.set_defaults(func=_trajectory)

    parser = subparsers.add_parser("retention", help="deletion dates and deleting what is due")
    parser.add_argument("retention_command", choices=["status", "run"])
    add_data_option(parser)
    parser.set_defaults(func=_retention)


def _open(args: argparse.Namespace) -> tuple[Path, Catalogue]:
    data_dir = data_dir_from(args)
    if not KitPaths(data_dir).catalogue.exists():
        raise KitError(f"no kit data in {data_dir} (add people first with `kit people add`)")
    return data_dir, Catalogue(KitPaths(data_dir).catalogue)


def _trajectory(args: argparse.Namespace) -> int:
    data_dir, catalogue = _open(args)
    try:
        store = Trajectories(catalogue, data_dir)
        store.advance_recorded()
        command = args.trajectory_command
        if command == "new":
            question = ""
            if args.question_file:
                try:
                    question = Path(args.question_file).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise KitError(f"cannot read {args.question_file}: {exc.strerror}") from None
            row = store.create(args.teacher, args.coach, method=args.method,
                               planned_recordings=args.recordings, learning_question=question)
            print(f"{row['id']}  planned; run `kit trajectory intake {row['id']}` after the intake meeting")
        elif command == "list":
            for row in store.list():
                print(_line(catalogue, row))
        elif command == "show":
            row = store.require(args.trajectory_id)
            print(_line(catalogue, row))
            for rec in store.recordings(row["id"]):
                label = "baseline" if rec["step"] == 0 else f"recording {rec['step']}"
                print(f"  {label:<12} {rec['recording_id']}  {rec['started_at'][:16]}  "
                      f"delete after {rec['retention_until'] or '-'}")
            for event in store.events(row["id"]):
                print(f"  {event['at'][:16]}  {event['state']} (step {event['step']})")
        elif command == "activate":
            print(_line(catalogue, store.activate(args.trajectory_id)))
        else:
            print(_line(catalogue, store.act(args.trajectory_id, command)))
    finally:
        catalogue.close()
    return 0


def _line(catalogue: Catalogue, row: dict) -> str:
    def name(person_id: str) -> str:
        person = catalogue.get_person(person_id)
        return person["name"] if person else person_id

    active = "  (this kit's trajectory)" if row["active"] else ""
    return (f"{row['id']}  {name(row['teacher_id'])} / {name(row['coach_id'])}  {row['state']}  "
            f"step {row['step']} of {row['planned_recordings']}{active}")


def _retention(args: argparse.Namespace) -> int:
    from appliance.retention import Retention

    data_dir, catalogue = _open(args)
    try:
        retention = Retention(catalogue, data_dir)
        if not retention.trusted():
            print("the clock is not trusted yet (no NTP, no sync): nothing is deleted until it is")
        policy = retention.policy()
        print(f"policy: delete {policy.after_close_days} days after a trajectory closes, "
              f"at the latest {policy.max_days} days after recording")
        if args.retention_command == "run":
            for receipt in retention.run():
                print(f"deleted {receipt['recording_id']} ({receipt['reason']}) at {receipt['deleted_at']}")
        else:
            retention.refresh()
            for rec in catalogue.list_recordings():
                print(f"{rec['id']}  {rec['started_at'][:16]}  delete after {rec['retention_until'] or '-'}")
            for receipt in retention.receipts():
                print(f"{receipt['recording_id']}  deleted {receipt['deleted_at']} ({receipt['reason']})")
    finally:
        catalogue.close()
    return 0
