"""Catalogue errors a user can cause and fix (each one line)."""

from appliance.errors import KitError


class UnknownPerson(KitError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown person: {name!r} (see `kit people list`)")


class DuplicatePerson(KitError):
    def __init__(self, name: str) -> None:
        super().__init__(f"a person named {name!r} already exists")


class WrongRole(KitError):
    pass


class NoAssignment(KitError):
    def __init__(self) -> None:
        super().__init__(
            "no teacher and coach assigned to this kit (run `kit assign --teacher NAME --coach NAME`)"
        )


class UnknownRecording(KitError):
    def __init__(self, recording_id: str) -> None:
        super().__init__(f"unknown recording: {recording_id!r}")
