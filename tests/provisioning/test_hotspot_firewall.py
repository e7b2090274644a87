"""The kit's hotspot firewall (firmware-config/nftables) in real network namespaces.

Three namespaces: the kit (``wlan0`` towards the hotspot, ``eth0`` towards
the school), a pupil's phone on the hotspot, and a school server. Before the
rules load, the phone reaches the kit's SSH port and, through the kit, the
school network (the control: the test network can carry what the rules
must stop); after, it reaches only the review page (443, and 80 for the
redirect) — a plain-HTTP request to any address lands on the kit.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "firmware-config/nftables/lessonkit-captive.nft"
KIT_WLAN, PHONE = "10.42.0.1", "10.42.0.5"
KIT_ETH, SCHOOL = "10.231.9.1", "10.231.9.2"

pytestmark = pytest.mark.network

LISTENER = textwrap.dedent("""
    import socket, sys, threading
    def serve(port, word):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port)); s.listen(8)
        while True:
            c, _ = s.accept(); c.sendall(word); c.close()
    for spec in sys.argv[1:]:
        port, word = spec.split("=")
        threading.Thread(target=serve, args=(int(port), word.encode()), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()
""")

CONNECT = textwrap.dedent("""
    import socket, sys
    try:
        with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5) as s:
            print(s.recv(16).decode() or "empty")
    except OSError as exc:
        print("blocked")
""")


def ns_run(ns: str, *cmd: str) -> str:
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def hotspot():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (make test runs as root on CI)")
    tag = secrets.token_hex(3)
    kit, phone, school = f"lkh-k{tag}", f"lkh-p{tag}", f"lkh-s{tag}"
    ip = lambda *a: subprocess.run(["ip", *a], check=True, capture_output=True)  # noqa: E731
    procs: list[subprocess.Popen] = []
    try:
        for ns in (kit, phone, school):
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip("link", "add", "wlan0", "netns", kit, "type", "veth", "peer", "name", "p0", "netns", phone)
        ip("link", "add", "eth0", "netns", kit, "type", "veth", "peer", "name", "s0", "netns", school)
        for ns, dev, addr in ((kit, "wlan0", f"{KIT_WLAN}/24"), (phone, "p0", f"{PHONE}/24"),
                              (kit, "eth0", f"{KIT_ETH}/30"), (school, "s0", f"{SCHOOL}/30")):
            ip("-n", ns, "addr", "add", addr, "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
        ip("-n", phone, "route", "add", "default", "via", KIT_WLAN)
        ip("-n", school, "route", "add", "10.42.0.0/24", "via", KIT_ETH)
        ns_run(kit, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for ns, specs in ((kit, ["22=ssh", "80=redirect", "443=review"]), (school, ["8000=school", "80=school"])):
            proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", LISTENER, *specs],
                                    stdout=subprocess.PIPE, text=True)
            procs.append(proc)
            assert proc.stdout.readline().strip() == "ready"
        yield {"kit": kit, "phone": phone, "school": school}
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        for ns in (kit, phone, school):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def phone_reaches(hotspot, address: str, port: int) -> str:
    return ns_run(hotspot["phone"], sys.executable, "-c", CONNECT, address, str(port)).strip()


def test_the_hotspot_reaches_only_the_review_page(hotspot):
    # Control: without the rules the phone gets everywhere.
    assert phone_reaches(hotspot, KIT_WLAN, 22) == "ssh"
    assert phone_reaches(hotspot, SCHOOL, 8000) == "school"

    ns_run(hotspot["kit"], "nft", "-f", str(RULES))

    assert phone_reaches(hotspot, KIT_WLAN, 443) == "review"
    assert phone_reaches(hotspot, KIT_WLAN, 80) == "redirect"
    assert phone_reaches(hotspot, KIT_WLAN, 22) == "blocked"       # sshd is for the wired network only
    assert phone_reaches(hotspot, SCHOOL, 8000) == "blocked"       # nothing is forwarded to the school
    assert phone_reaches(hotspot, SCHOOL, 80) == "redirect"        # plain HTTP anywhere lands on the kit
    # The school side (IT) still reaches the kit's SSH over the wire.
    assert ns_run(hotspot["school"], sys.executable, "-c", CONNECT, KIT_ETH, "22").strip() == "ssh"


DNSMASQ_SHARED = RULES.parents[1] / "NetworkManager/dnsmasq-shared.d"

RESOLVE = textwrap.dedent("""
    import sys
    import dns.exception, dns.message, dns.query, dns.rcode
    for name in sys.argv[2:]:
        try:
            answer = dns.query.udp(dns.message.make_query(name, "A"), sys.argv[1], timeout=2)
        except dns.exception.Timeout:
            print(name, "timeout"); continue
        found = [item.address for rrset in answer.answer for item in rrset if rrset.rdtype == 1]
        print(name, ",".join(found) or dns.rcode.to_text(answer.rcode()))
""")


def dnsmasq(hotspot, *conf: str) -> subprocess.Popen:
    """dnsmasq as NetworkManager starts it for a shared (hotspot) connection, with no upstream."""
    proc = subprocess.Popen(
        ["ip", "netns", "exec", hotspot["kit"], "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
         "--no-resolv", "--no-hosts", "--bind-interfaces", f"--listen-address={KIT_WLAN}", "--pid-file=",
         "--user=root", "--log-facility=-", *conf],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(50):
        if "started" in (proc.stdout.readline() or "started"):
            return proc
    return proc


def phone_resolves(hotspot, *names: str) -> dict[str, str]:
    out = ns_run(hotspot["phone"], sys.executable, "-c", RESOLVE, KIT_WLAN, *names)
    return dict(line.split(" ", 1) for line in out.splitlines())


NAMES = ("lessonkit.lan", "www.google.com", "connectivitycheck.gstatic.com", "captive.apple.com")


def test_on_the_hotspot_every_name_leads_to_the_kit(hotspot):
    """Offline there is nothing to resolve against: whatever a teacher types, or a phone probes
    for its captive-portal check, answers with the kit's address — through the firewall."""
    ns_run(hotspot["kit"], "nft", "-f", str(RULES))
    control = dnsmasq(hotspot)  # the same dnsmasq without the kit's configuration
    try:
        assert set(phone_resolves(hotspot, *NAMES).values()) <= {"REFUSED", "SERVFAIL", "NXDOMAIN"}
    finally:
        control.kill(), control.wait()
    ours = dnsmasq(hotspot, f"--conf-dir={DNSMASQ_SHARED},*.conf")
    try:
        assert phone_resolves(hotspot, *NAMES) == {name: KIT_WLAN for name in NAMES}
    finally:
        ours.kill(), ours.wait()
