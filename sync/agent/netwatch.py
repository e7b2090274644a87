"""Notice a network coming up without NetworkManager's help.

The dispatcher script is the primary trigger on the kit; this is the
fallback inside ``kit run``: every couple of seconds it reads which
non-loopback interfaces have carrier (``/sys/class/net/*/carrier``) and
whether a default route exists (``/proc/net/route``). A link gaining carrier
or a default route appearing counts as "network up".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SYS_NET = Path("/sys/class/net")
PROC_ROUTE = Path("/proc/net/route")


@dataclass(frozen=True)
class NetState:
    links_up: frozenset[str]
    default_route: bool

    @property
    def online(self) -> bool:
        return bool(self.links_up)


def _carrier(iface: Path) -> bool:
    try:
        return (iface / "carrier").read_text().strip() == "1" and \
            (iface / "operstate").read_text().strip() in ("up", "unknown")
    except OSError:  # carrier is unreadable while the interface is down
        return False


def read_state(sys_net: Path = SYS_NET, proc_route: Path = PROC_ROUTE) -> NetState:
    links = set()
    if sys_net.exists():
        for iface in sys_net.iterdir():
            if iface.name != "lo" and _carrier(iface):
                links.add(iface.name)
    default = False
    try:
        for line in proc_route.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 2 and fields[1] == "00000000":
                default = True
    except OSError:
        pass
    return NetState(frozenset(links), default)


def came_up(before: NetState, after: NetState) -> bool:
    """True when a link gained carrier or a default route appeared."""
    return bool(after.links_up - before.links_up) or (after.default_route and not before.default_route)
