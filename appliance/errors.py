"""The one error type a user is meant to read.

Anything raised as :class:`KitError` reaches the user as a single line and a
non-zero exit code, never as a traceback: it describes something the user can
act on (a wrong passphrase, an unknown person, a full disk).
"""


class KitError(Exception):
    """A mistake or condition the user can fix; its text is shown as-is."""

    exit_code = 1


def run_command(parser, argv: list[str] | None, prog: str) -> int:
    """Parse ``argv`` and call the chosen sub-command's ``func``.

    The shared tail of ``kit`` and ``kit-server``: a :class:`KitError` becomes
    ``prog: message`` on stderr and its exit code, never a traceback.
    """
    import sys

    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KitError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
