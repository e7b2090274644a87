"""The trajectory tables in the catalogue database (metadata only).

The learning question, the clips chosen for each review meeting, the action
points and the per-class checklist notes are NOT here: they live in one
age-encrypted document per trajectory (``DATA/trajectories/<id>.json.age``).

One trigger links every new recording to the step the kit's active
trajectory expects, in the same transaction that creates the recording, so
the daemon needs no knowledge of trajectories: the teacher presses the
button, the recording lands in the right step.
"""

from __future__ import annotations

from appliance.catalogue.schema import ensure_tables

STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS trajectories (
        id TEXT PRIMARY KEY,
        teacher_id TEXT NOT NULL REFERENCES people(id),
        coach_id TEXT NOT NULL REFERENCES people(id),
        method TEXT NOT NULL CHECK (method IN ('beeldcoaching', 'didactisch_coachen', 'other')),
        planned_recordings INTEGER NOT NULL CHECK (planned_recordings BETWEEN 1 AND 5),
        state TEXT NOT NULL CHECK (state IN ('planned', 'intake_done', 'baseline_recorded', 'recorded',
                                             'reviewed', 'closed', 'paused', 'stopped')),
        step INTEGER NOT NULL DEFAULT 0,
        paused_from TEXT,
        active INTEGER NOT NULL DEFAULT 0,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        closed_at TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS trajectories_people ON trajectories(teacher_id, coach_id)",
    # The timeline: one row per transition (state and date only).
    """CREATE TABLE IF NOT EXISTS trajectory_events (
        id INTEGER PRIMARY KEY,
        trajectory_id TEXT NOT NULL REFERENCES trajectories(id),
        action TEXT NOT NULL,
        state TEXT NOT NULL,
        step INTEGER NOT NULL,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS trajectory_events_t ON trajectory_events(trajectory_id)",
    # No foreign key to recordings: the row goes when the footage is shredded,
    # and the deletion receipt keeps the step.
    """CREATE TABLE IF NOT EXISTS trajectory_recordings (
        recording_id TEXT PRIMARY KEY,
        trajectory_id TEXT NOT NULL REFERENCES trajectories(id),
        step INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS trajectory_recordings_t ON trajectory_recordings(trajectory_id)",
    # "The checklist for this class was confirmed": a date, never a name.
    """CREATE TABLE IF NOT EXISTS trajectory_checklists (
        id INTEGER PRIMARY KEY,
        trajectory_id TEXT NOT NULL REFERENCES trajectories(id),
        confirmed_at TEXT NOT NULL
    )""",
    """CREATE TRIGGER IF NOT EXISTS trajectory_links_new_recording AFTER INSERT ON recordings
    BEGIN
        INSERT OR IGNORE INTO trajectory_recordings (recording_id, trajectory_id, step)
        SELECT NEW.id, t.id,
               CASE t.state WHEN 'intake_done' THEN 0 WHEN 'baseline_recorded' THEN 1
                            WHEN 'recorded' THEN t.step ELSE t.step + 1 END
        FROM trajectories t
        WHERE t.active = 1 AND t.teacher_id = NEW.teacher_id AND t.coach_id = NEW.coach_id
          AND (t.state IN ('intake_done', 'baseline_recorded', 'recorded')
               OR (t.state = 'reviewed' AND t.step < t.planned_recordings))
        LIMIT 1;
    END""",
]


_NAMES = ('trajectories', 'trajectory_events', 'trajectory_recordings', 'trajectory_checklists', 'trajectory_links_new_recording')


def ensure(catalogue) -> None:
    ensure_tables(catalogue, _NAMES, STATEMENTS)
