"""The kit's label: what IT prints and sticks on the case, and sends to the school server.

>>> wifi_qr_payload("Lesson kit AB12", "k7mq-x2pd-9hzr-4tnw")
'WIFI:T:WPA;S:Lesson kit AB12;P:k7mq-x2pd-9hzr-4tnw;;'
>>> wifi_qr_payload('a;b', 'p:"q"')
'WIFI:T:WPA;S:a\\\\;b;P:p\\\\:\\\\"q\\\\";;'
"""

from __future__ import annotations

import io

import segno

LABEL_TEXT = "lessonkit-label.txt"
LABEL_QR = "lessonkit-wifi.svg"


def _escape(value: str) -> str:
    # The Wi-Fi QR format (ZXing "WIFI:") reserves these characters.
    for ch in ("\\", ";", ",", ":", '"'):
        value = value.replace(ch, "\\" + ch)
    return value


def wifi_qr_payload(ssid: str, passphrase: str) -> str:
    """The text phones understand as "join this Wi-Fi" when they scan the QR code."""
    return f"WIFI:T:WPA;S:{_escape(ssid)};P:{_escape(passphrase)};;"


def wifi_qr_svg(ssid: str, passphrase: str) -> bytes:
    """An SVG QR code for the hotspot: scan it with a phone camera to join."""
    out = io.BytesIO()
    segno.make(wifi_qr_payload(ssid, passphrase), error="m").save(
        out, kind="svg", scale=8, border=4, title=f"Wi-Fi {ssid}"
    )
    return out.getvalue()


def label_text(kit_id: str, ssid: str, passphrase: str, sync_public_key: str, server: str | None) -> str:
    """The plain-text label, with the exact command IT runs on the school server."""
    key = sync_public_key.strip()
    register = f"kit-server add-kit {kit_id} '{key}'"
    lines = [
        "Lesson kit",
        f"Kit id:          {kit_id}",
        f"Wi-Fi name:      {ssid}",
        f"Wi-Fi password:  {passphrase}",
        "Review page:     join the Wi-Fi, then open http://kit.lan/ (any address works)",
        "",
        f"Sync public key: {key}",
        f"School server:   {server or '(none set in lessonkit.toml)'}",
        "Register this kit on the school server with:",
        f"  {register}",
        "",
        "The QR code in lessonkit-wifi.svg joins the Wi-Fi when scanned with a phone.",
        "Keep this label with the kit; anyone with the Wi-Fi password can reach its login page.",
    ]
    return "\n".join(lines) + "\n"
