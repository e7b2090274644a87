"""Only the filmed teacher decides who can watch: signed consent, pinned keys, invitations.

A person's *consent key* is an Ed25519 key derived from her own age
identity (so only she, with her passphrase, can use it); its public half is
pinned beside her recipient when she enrols. A teacher/coach pair may be
recorded for only when the teacher signed "my recordings on this kit go to
me and this coach, with these keys" and the coach signed the same statement.
The recorder verifies both signatures against the pinned keys before it
encrypts, and encrypts to the recipients named in the statement (or to the
keys their owners renewed them to, each step signed by the old key,
:mod:`.renewal`): no row the admin account or the school server writes can
add or change a recipient.
"""

from .renewal import Renewals
from .signing import consent_key, public_key_hex, verify
from .store import Consents, NoConsent, PairState

__all__ = ["Consents", "NoConsent", "PairState", "Renewals", "consent_key", "public_key_hex", "verify"]
