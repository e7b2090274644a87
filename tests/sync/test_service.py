"""SyncService's loop with a stand-in for the network state (no sockets)."""

import time

from appliance.catalogue import Catalogue
from sync.agent import netwatch
from sync.agent.service import SyncService


def test_link_detection_from_sysfs_and_routes(tmp_path):
    net = tmp_path / "net"
    for name, carrier, oper in (("lo", "1", "unknown"), ("eth0", "1", "up"), ("wlan0", "0", "down")):
        (net / name).mkdir(parents=True)
        (net / name / "carrier").write_text(carrier + "\n")
        (net / name / "operstate").write_text(oper + "\n")
    route = tmp_path / "route"
    route.write_text("Iface\tDestination\tGateway\n" "eth0\t00000000\t0102A8C0\n")
    state = netwatch.read_state(net, route)
    assert state.links_up == {"eth0"} and state.default_route
    down = netwatch.NetState(frozenset(), False)
    assert netwatch.came_up(down, state) and not netwatch.came_up(state, state)
    assert not netwatch.came_up(state, down)


def test_an_unconfigured_kit_never_reports_a_failed_sync(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONKIT_CONFIG", str(tmp_path / "no-kit.toml"))
    cat = Catalogue(tmp_path / "catalogue.db")
    statuses = []
    up = netwatch.NetState(frozenset({"eth0"}), True)
    service = SyncService(tmp_path, cat, statuses.append, poll_s=0.01, read_net=lambda: up)
    service.start()
    service.trigger()
    deadline = time.monotonic() + 10
    while service.unconfigured == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    service.stop()
    assert service.unconfigured >= 1, "the trigger never reached the loop"
    assert statuses == [] and service.runs == 0


def test_rsync_exit_codes_decide_between_retry_and_giving_up():
    from sync.agent.transport import TransferFailed, _classify, with_retries

    for code in (5, 10, 11, 12, 20, 23, 24, 30, 35, 255, -9):
        assert _classify(code, "").retryable, code
    assert not _classify(1, "syntax or usage error").retryable
    assert not _classify(255, "Host key verification failed.\n").retryable
    assert "does not accept this kit's key" in str(_classify(255, "Permission denied (publickey).\n"))
    assert str(_classify(23, "rsync error: some files could not be transferred\n")).startswith(
        "rsync: partial transfer (exit 23)")

    calls, waits = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise _classify(23, "")
        return "ok"

    assert with_retries(flaky, attempts=4, sleep=waits.append) == "ok"
    assert waits == [1.0, 2.0]

    def hopeless():
        raise _classify(255, "Host key verification failed.")

    calls.clear()
    try:
        with_retries(hopeless, attempts=4, sleep=waits.append)
    except TransferFailed as exc:
        assert "host key does not match" in str(exc)
    assert waits == [1.0, 2.0]  # no waiting, no second try
