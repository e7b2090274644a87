"""Shared test fixtures: paths to the project and to ../shared."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


def _leftover_children() -> list:
    import psutil

    me = psutil.Process()
    alive = []
    for child in me.children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
        except psutil.NoSuchProcess:
            pass
    # A fixture that just stopped something may still be reaping it.
    _, alive = psutil.wait_procs(alive, timeout=5)
    return alive


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if a test left a process of its own running (sshd, a kit, a browser)."""
    import psutil

    alive = _leftover_children()
    if not alive:
        return
    lines = []
    for proc in alive:
        try:
            lines.append(f"  pid {proc.pid}: {' '.join(proc.cmdline())[:200]}")
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    session.config.get_terminal_writer().line(
        "processes left running by the tests (now killed):\n" + "\n".join(lines), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
