"""One sync (:func:`sync_once`) and the background service ``kit run`` starts.

A sync: queue a health event if it changed → export new outbox rows to
batch files → push the batches not yet delivered → pull the roster
directory → apply it → prune batches the server has applied. Every step can
be cut off at any moment; the next sync picks up where this one stopped,
because batches are immutable, the server ignores files it already has, and
``pushed_through`` only moves after rsync reports success.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from appliance.errors import KitError
from appliance.tls import TlsStore

from . import certificate, config, export, health, netwatch, roster, transport
from . import state as state_mod
from .config import SyncPaths
from .files import write_json

log = logging.getLogger("sync")

# (phase, fraction 0..1) for a progress bar or the UI.
Progress = Callable[[str, float], None]


class SyncBusy(KitError):
    def __init__(self) -> None:
        super().__init__("another sync is running")


@dataclass
class SyncResult:
    batches_pushed: int = 0
    events_exported: int = 0
    roster: roster.Applied | None = None
    acked_through: int = 0
    seconds: float = 0.0
    retries: list[str] = field(default_factory=list)
    certificate: str | None = None  # issuer of a certificate installed by this sync


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Lock:
    def __init__(self, path: Path, wait_s: float) -> None:
        self.path, self.wait_s = path, wait_s

    def __enter__(self):
        self.fd = open(self.path, "a")
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.fd.close()
                    raise SyncBusy() from None
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.fd.close()


def write_status(paths: SyncPaths, phase: str, **extra) -> None:
    write_json(paths.root / "status.json", {"phase": phase, "at": _now(), **extra})


def sync_once(data_dir: Path, catalogue, *, tls: TlsStore | None = None, on_progress: Progress | None = None,
              on_transfer: Callable[[transport.Transfer], None] | None = None,
              attempts: int = 4, base_delay: float = 1.0, lock_wait_s: float = 120.0) -> SyncResult:
    """Run one complete sync; raises a KitError (one line) when it cannot finish."""
    paths = SyncPaths(Path(data_dir))
    paths.ensure()
    progress = on_progress or (lambda phase, fraction: None)
    started = time.monotonic()
    with _Lock(paths.lock_file, lock_wait_s):
        state = state_mod.load(paths)
        state["last_attempt_at"] = _now()
        result = SyncResult()
        try:
            server = config.load(paths)
            if server.key == paths.key:
                config.ensure_key(paths)
            progress("export", 0.0)
            write_status(paths, "syncing")
            health.maybe_emit(catalogue, paths.data_dir, state)
            if tls is not None:
                certificate.queue_csr(catalogue, tls)
            state_mod.save(paths, state)
            before = export.exported_through(paths, state)
            export.export(catalogue, paths)
            state = state_mod.load(paths)  # export() moved exported_through on disk
            result.events_exported = state["exported_through"] - before

            files = export.pending(paths, state)
            if files:
                total = sum(f.stat().st_size for f in files) or 1
                progress("push", 0.0)
                transport.with_retries(
                    lambda: transport.push(paths, server, files,
                                           lambda done, pct: progress("push", min(done / total, 1.0)),
                                           on_transfer),
                    attempts=attempts, base_delay=base_delay,
                    on_retry=lambda exc, n: result.retries.append(str(exc)))
                state["pushed_through"] = max(export.parse_last(f) for f in files)
                state_mod.save(paths, state)
                result.batches_pushed = len(files)
            progress("pull", 0.0)
            transport.with_retries(lambda: transport.pull(paths, server, on_transfer),
                                   attempts=attempts, base_delay=base_delay,
                                   on_retry=lambda exc, n: result.retries.append(str(exc)))
            progress("apply", 0.0)
            result.roster = roster.apply(catalogue, paths.incoming)
            if tls is not None:
                result.certificate, refused = certificate.apply_answer(tls, paths.incoming)
                if refused:
                    result.roster.skipped.append(f"certificate: {refused}")
            if result.roster.acked_through:
                state["acked_through"] = min(result.roster.acked_through, state["pushed_through"])
                export.prune(paths, state["acked_through"])
            result.acked_through = state["acked_through"]
            state["last_success_at"] = _now()
            state_mod.save(paths, state)
            result.seconds = time.monotonic() - started
            write_status(paths, "done", batches=result.batches_pushed, seconds=round(result.seconds, 2))
            progress("done", 1.0)
            return result
        except KitError as exc:
            _record_failure(paths, state, str(exc))
            raise
        except OSError as exc:
            # A full or failing SD card: nothing is lost (batches are written
            # whole or not at all), say so in one line and try again later.
            message = f"sync stopped: {exc.strerror or exc}"
            _record_failure(paths, state, message)
            raise KitError(message) from exc


def _record_failure(paths: SyncPaths, state: dict, message: str) -> None:
    state["last_error"] = message
    try:
        state_mod.save(paths, state)
        write_status(paths, "failed", error=message)
    except OSError:
        pass  # the disk that just failed may refuse this too


def status(data_dir: Path) -> dict:
    """What ``kit sync --status`` and the UI show."""
    paths = SyncPaths(Path(data_dir))
    state = state_mod.load(paths)
    from .files import read_json

    pending = len(export.pending(paths, state)) if paths.outgoing.exists() else 0
    # A provisioned kit names its server in /etc/lessonkit/kit.toml, not in
    # server.json: ask config.load, which knows both places.
    try:
        server: str | None = config.load(paths).host
    except (KitError, KeyError, TypeError, ValueError):  # not set up, or a damaged server.json
        server = None
    return {
        "configured": server is not None,
        "server": server,
        "pending_batches": pending,
        "status": read_json(paths.root / "status.json", {"phase": "never"}),
        **{k: state[k] for k in ("exported_through", "pushed_through", "acked_through",
                                 "last_success_at", "last_attempt_at", "last_error")},
    }


def sync_running(data_dir: Path) -> bool:
    """True while some process (``kit run`` or ``kit sync``) holds the sync lock."""
    lock = SyncPaths(Path(data_dir)).lock_file
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops our probe lock at once
    return False


class SyncService:
    """Background sync for ``kit run``: on network-up, periodically, with backoff.

    ``on_status`` receives "syncing", "done" or "failed" (the green LED).
    """

    def __init__(self, data_dir: Path, catalogue, on_status: Callable[[str], None] | None = None, *,
                 tls: TlsStore | None = None, on_link: Callable[[bool], None] | None = None,
                 poll_s: float = 2.0, period_s: float = 900.0, backoff_s: tuple[float, float] = (5.0, 300.0),
                 read_net: Callable[[], netwatch.NetState] = netwatch.read_state) -> None:
        self.data_dir = Path(data_dir)
        self.catalogue = catalogue
        self.tls = tls
        self.on_status = on_status or (lambda s: None)
        self.on_link = on_link or (lambda online: None)
        self.poll_s, self.period_s, self.backoff_s = poll_s, period_s, backoff_s
        self.read_net = read_net
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        #: Syncs that fell due but were not tried because no server is set up.
        self.unconfigured = 0
        self.last_result: SyncResult | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    def trigger(self) -> None:
        """Sync as soon as possible (the UI's "sync now")."""
        self._wake.set()

    def _loop(self) -> None:
        net = self.read_net()
        self.on_link(net.online)
        due = time.monotonic() if net.online else None
        delay = self.backoff_s[0]
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            if self._stop.is_set():
                break
            now_net = self.read_net()
            if now_net.online != net.online:
                self.on_link(now_net.online)
            if netwatch.came_up(net, now_net) or self._wake.is_set():
                due = time.monotonic() + (0.5 if not self._wake.is_set() else 0.0)
                delay = self.backoff_s[0]
            self._wake.clear()
            net = now_net
            if due is None or time.monotonic() < due:
                continue
            if not self._configured():
                # No school server named (a laptop in simulation, an unprovisioned
                # kit): nothing to try, nothing to blink about.
                self.unconfigured += 1
                due = None
                continue
            if self._run_once():
                due = time.monotonic() + self.period_s
                delay = self.backoff_s[0]
            else:
                due = time.monotonic() + delay
                delay = min(delay * 2, self.backoff_s[1])

    def _configured(self) -> bool:
        try:
            config.load(SyncPaths(self.data_dir))
        except config.NotConfigured:
            return False
        return True

    def _run_once(self) -> bool:
        self.on_status("syncing")
        self.runs += 1
        try:
            self.last_result = sync_once(self.data_dir, self.catalogue, tls=self.tls, attempts=2)
        except config.NotConfigured as exc:
            self.last_error = str(exc)
            self.on_status("failed")
            return False
        except KitError as exc:
            self.last_error = str(exc)
            log.warning("sync failed: %s", exc)
            self.on_status("failed")
            return False
        except Exception as exc:  # never let the service thread die
            self.last_error = f"unexpected error: {exc}"
            log.exception("sync crashed")
            self.on_status("failed")
            return False
        self.last_error = None
        self.on_status("done")
        return True
