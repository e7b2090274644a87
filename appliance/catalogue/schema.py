"""The catalogue's tables (see docs/architecture.md, "appliance.catalogue").

Plain SQL so that the schema reads the same here, in the docs and in
``sqlite3 catalogue.db .schema``. Every statement is idempotent.
"""

SCHEMA_VERSION = 1

STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS people (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('teacher', 'coach')),
        recipient TEXT NOT NULL,
        created_at TEXT NOT NULL,
        signing_key TEXT,
        enrolled_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS assignment (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        teacher_id TEXT NOT NULL REFERENCES people(id),
        coach_id TEXT NOT NULL REFERENCES people(id),
        assigned_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS recordings (
        id TEXT PRIMARY KEY,
        teacher_id TEXT NOT NULL REFERENCES people(id),
        coach_id TEXT NOT NULL REFERENCES people(id),
        recipients TEXT NOT NULL,
        boot_id TEXT NOT NULL,
        started_mono REAL NOT NULL,
        started_at TEXT NOT NULL,
        clock_trusted INTEGER NOT NULL DEFAULT 0,
        duration_s REAL NOT NULL DEFAULT 0,
        segments INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL CHECK (state IN ('recording', 'complete', 'interrupted')),
        retention_until TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS recordings_state ON recordings(state)",
    """CREATE TABLE IF NOT EXISTS segments (
        recording_id TEXT NOT NULL REFERENCES recordings(id),
        idx INTEGER NOT NULL,
        start_s REAL NOT NULL,
        duration_s REAL NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (recording_id, idx)
    )""",
    """CREATE TABLE IF NOT EXISTS bookmarks (
        id INTEGER PRIMARY KEY,
        recording_id TEXT NOT NULL REFERENCES recordings(id),
        offset_s REAL NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS bookmarks_recording ON bookmarks(recording_id)",
    """CREATE TABLE IF NOT EXISTS settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    # Roster entries from the school server that tried to change the key of a
    # person who enrolled on this kit: refused, kept here for the Beheer page.
    """CREATE TABLE IF NOT EXISTS refused_key_changes (
        id INTEGER PRIMARY KEY,
        person_id TEXT NOT NULL,
        offered_recipient TEXT NOT NULL,
        refused_at TEXT NOT NULL
    )""",
    # AUTOINCREMENT: a sequence number is never reused, even after the sync
    # agent prunes rows the server has acknowledged.
    """CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
]


# Columns added after a table first shipped: (table, column, type). A kit
# updated in place gets them on its next start; new kits have them already.
COLUMNS_ADDED = [
    # The person's consent key (hex Ed25519), pinned when she enrols on this
    # kit; NULL for people the school server published who never enrolled here.
    ("people", "signing_key", "TEXT"),
    ("people", "enrolled_at", "TEXT"),
    # How the picture maps onto the view: 'flat', or 'equirectangular' for
    # a 360° camera's whole sphere (appliance.footage.spherical).
    ("recordings", "projection", "TEXT NOT NULL DEFAULT 'flat'"),
]


def add_missing_columns(db) -> None:
    for table, column, kind in COLUMNS_ADDED:
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall()}
        if column not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def ensure_tables(catalogue, names: tuple[str, ...], statements: list[str]) -> None:
    """Create an area's own tables (and triggers) in the catalogue if any is missing.

    A read-only look first, so that page views take no write lock once the
    tables exist.
    """
    present = {r["name"] for r in catalogue.query("SELECT name FROM sqlite_master")}
    if present.issuperset(names):
        return
    with catalogue.transaction() as db:
        for statement in statements:
            db.execute(statement)
