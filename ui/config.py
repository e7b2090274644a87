"""Configuration objects of the review app.

``create_app`` starts from :class:`ReviewConfig` and overlays whatever the
caller passes (a mapping or an object with attributes, e.g. the kit's own
config), so ``kit run`` and the tests can tune the same knobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class ReviewConfig:
    #: A key is forgotten after this many seconds without a request.
    idle_timeout_s: float = 15 * 60
    #: How often sessions idle past the timeout are swept out of memory.
    sweep_every_s: float = 30.0
    #: First delay after a wrong passphrase from one device; doubles per further failure.
    throttle_base_s: float = 1.0
    #: The delay never grows beyond this.
    throttle_max_s: float = 60.0
    #: Failures for one person (from devices she never unlocked on) before the person limit starts.
    throttle_person_free: int = 10
    #: The person limit: first gap between attempts, doubling to at most ``throttle_person_max_s``
    #: (much looser than per device, so it never locks the real teacher out for long).
    throttle_person_base_s: float = 2.0
    throttle_person_max_s: float = 30.0
    #: Unwraps that may wait while one runs, and for how long, before a 429 says when to come back.
    unlock_queue: int = 2
    unlock_wait_s: float = 3.0
    #: Highest scrypt work factor an unlock accepts: 2**18 is 256 MiB, what a 2 GiB Pi can spare once.
    unlock_max_work_factor: int = 18
    #: Lifetime of the unlock form's signed CSRF token (no session is stored before an unlock).
    form_token_s: float = 2 * 3600
    #: Language of a visitor who has not chosen one.
    default_locale: str = "nl"
    locales: tuple[str, ...] = ("nl", "en")
    #: Frame rate assumed for frame-stepping when the catalogue does not say.
    fps: float = 30.0
    #: Password of the admin account, hashed at start-up when no admin
    #: password file exists yet (the simulation's demo sets it).
    admin_password: str | None = None
    #: Cookies carry ``Secure``: the review app is only ever served over HTTPS.
    secure_cookies: bool = True
    #: Most open sessions kept; the least recently used anonymous one goes first.
    max_sessions: int = 500
    #: Most sessions one client address may hold; its own oldest goes first.
    max_sessions_per_client: int = 8
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_any(cls, source: Any) -> "ReviewConfig":
        """Build from a mapping, an object with attributes, or ``None``.

        >>> ReviewConfig.from_any({"idle_timeout_s": 5}).idle_timeout_s
        5
        >>> ReviewConfig.from_any(None).default_locale
        'nl'
        """
        config = cls()
        if source is None:
            return config
        if isinstance(source, ReviewConfig):
            return source
        names = {f.name for f in fields(cls)}
        for name in names:
            value = _lookup(source, name)
            if value is None:
                value = _lookup(source, "ui_" + name)
            if value is not None:
                setattr(config, name, value)
        return config


def _lookup(source: Any, name: str) -> Any:
    if isinstance(source, dict):
        return source.get(name)
    return getattr(source, name, None)


class TestingConfig(ReviewConfig):
    """The defaults, with keyword overrides (for tests and the simulation)."""

    __test__ = False  # not a pytest test class despite its name

    def __init__(self, **overrides: Any) -> None:
        super().__init__()
        for key, value in overrides.items():
            setattr(self, key, value)
