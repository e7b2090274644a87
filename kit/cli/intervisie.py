"""``kit group`` and ``kit share``: intervisie groups, and a teacher sharing a clip with hers.

For IT and scripts; teachers do the same in the review app. Sharing needs
the filmed teacher's passphrase (``--passphrase-file``): her own key opens
the footage, and only she may share it.

    kit group add "Intervisie wiskunde" --member Anna --member Ben --member Cor
    kit group list
    kit share clip r-… --from 12.5 --to 40 --group "Intervisie wiskunde" --as Anna --passphrase-file F
    kit share withdraw s-… --as Anna --passphrase-file F
"""

from __future__ import annotations

import argparse

from appliance import age
from appliance.errors import KitError
from appliance.identities import held_keys
from appliance.intervisie import Groups, Shares
from appliance.paths import KitPaths
from kit.cli.data_option import add_data_option, data_dir_from, open_catalogue
from kit.cli.secret_input import read_secret


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("group", help="intervisie groups: add, list")
    gsub = group.add_subparsers(dest="group_command", required=True)
    add = gsub.add_parser("add", help="a group of people who may be chosen to share clips with")
    add.add_argument("name")
    add.add_argument("--member", action="append", default=[], metavar="NAME", required=True)
    add_data_option(add)
    add.set_defaults(func=_group_add)
    lst = gsub.add_parser("list", help="the groups and their members")
    add_data_option(lst)
    lst.set_defaults(func=_group_list)

    share = subparsers.add_parser("share", help="share a clip with an intervisie group, or withdraw it")
    ssub = share.add_subparsers(dest="share_command", required=True)
    clip = ssub.add_parser("clip", help="cut a clip and share it with a group; prints the share id")
    clip.add_argument("recording_id")
    clip.add_argument("--from", dest="in_s", type=float, required=True, metavar="S")
    clip.add_argument("--to", dest="out_s", type=float, required=True, metavar="S")
    clip.add_argument("--group", required=True, metavar="NAME")
    clip.add_argument("--title", default="")
    clip.add_argument("--question", default="", help="her question for the group")
    _as_teacher(clip)
    clip.set_defaults(func=_share_clip)
    withdraw = ssub.add_parser("withdraw", help="shred every file of a share")
    withdraw.add_argument("share_id")
    _as_teacher(withdraw)
    withdraw.set_defaults(func=_share_withdraw)


def _as_teacher(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="teacher", required=True, metavar="TEACHER")
    parser.add_argument("--passphrase-file", metavar="FILE", help="her passphrase (first line)")
    add_data_option(parser)


def _open(args: argparse.Namespace):
    data_dir = data_dir_from(args)
    if not KitPaths(data_dir).catalogue.exists():
        raise KitError(f"no kit data in {data_dir}")
    return data_dir, open_catalogue(data_dir)


def _group_add(args: argparse.Namespace) -> int:
    _, catalogue = _open(args)
    try:
        members = [catalogue.find_person(name)["id"] for name in args.member]
        group = Groups(catalogue).create(args.name, members)
    finally:
        catalogue.close()
    print(group["id"])
    return 0


def _group_list(args: argparse.Namespace) -> int:
    _, catalogue = _open(args)
    try:
        groups = Groups(catalogue)
        rows = [(g, groups.members(g["id"])) for g in groups.all()]
    finally:
        catalogue.close()
    if not rows:
        print('no groups: kit group add NAME --member NAME --member NAME')
    for g, members in rows:
        print(f"{g['id']}  {g['name']}: {', '.join(m['name'] for m in members)}")
    return 0


def _teacher_keys(data_dir, catalogue, args) -> tuple[dict, list]:
    teacher = catalogue.find_person(args.teacher)
    passphrase = read_secret(args.passphrase_file, f"Passphrase of {teacher['name']}", confirm=False)
    try:
        wrapped = KitPaths(data_dir).identity(teacher["id"]).read_bytes()
    except FileNotFoundError:
        raise KitError(f"{teacher['name']} has not enrolled on this kit (no key here)") from None
    try:
        return teacher, held_keys(age.unwrap_identities(wrapped, passphrase), teacher)
    except age.IncorrectPassphrase:
        raise KitError(f"incorrect passphrase for {teacher['name']}; nothing was shared") from None


def _share_clip(args: argparse.Namespace) -> int:
    data_dir, catalogue = _open(args)
    try:
        teacher, keys = _teacher_keys(data_dir, catalogue, args)
        shares = Shares(catalogue, data_dir)
        group = shares.groups.find(args.group)
        if group is None:
            raise KitError(f"no group named {args.group!r} (kit group list)")
        row = shares.create(args.recording_id, teacher["id"], keys, group["id"], args.in_s, args.out_s,
                            title=args.title, question=args.question)
    finally:
        catalogue.close()
    print(row["id"])
    return 0


def _share_withdraw(args: argparse.Namespace) -> int:
    data_dir, catalogue = _open(args)
    try:
        teacher, _keys = _teacher_keys(data_dir, catalogue, args)
        Shares(catalogue, data_dir).withdraw(args.share_id, teacher["id"])
    finally:
        catalogue.close()
    print(f"withdrawn: {args.share_id} (every file shredded)")
    return 0
