"""The kit's SQLite catalogue: metadata only, with a sync outbox.

>>> import tempfile, pathlib
>>> cat = Catalogue(pathlib.Path(tempfile.mkdtemp()) / "catalogue.db")
>>> t = cat.add_person("Anna", "teacher", "age1" + "q" * 58)
>>> c = cat.add_person("Bert", "coach", "age1" + "p" * 58)
>>> cat.assign("anna", "Bert")["coach"]["name"]
'Bert'
>>> [row["kind"] for row in cat.outbox()]
['person.added', 'person.added', 'assignment.changed']
"""

from .database import OutboxPayloadError, check_payload
from .errors import DuplicatePerson, NoAssignment, UnknownPerson, UnknownRecording, WrongRole
from .people import ROLES, PeopleMixin
from .recordings import RecordingsMixin
from .timekeeping import TimekeepingMixin
from .views import Person, Recording, Segment, ViewsMixin


class Catalogue(PeopleMixin, RecordingsMixin, TimekeepingMixin, ViewsMixin):
    """``Catalogue(path)``: people, assignment, recordings, segments, bookmarks,
    settings and the outbox. Safe to share between threads."""


__all__ = [
    "Catalogue",
    "DuplicatePerson",
    "NoAssignment",
    "OutboxPayloadError",
    "Person",
    "Recording",
    "Segment",
    "ROLES",
    "UnknownPerson",
    "UnknownRecording",
    "WrongRole",
    "check_payload",
]
