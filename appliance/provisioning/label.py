"""What first boot prints for people: a label for the kit's case, a teacher card, and IT's registration line.

The label on the case is what pupils see: the kit's id and "ask your coach",
never the Wi-Fi password. The teacher card (for the teacher and coach, kept
in a pocket, not on the kit) holds the Wi-Fi name and password, a QR code
that joins the Wi-Fi, a QR code of the kit's ``https://`` address and the
SHA-256 fingerprint of its certificate, so a teacher can check it once. IT's
file holds the ``kit-server add-kit`` line. All on the boot partition, which
only someone holding the SD card reads.

>>> wifi_qr_payload("Lesson kit AB12", "k7mq-x2pd-9hzr-4tnw")
'WIFI:T:WPA;S:Lesson kit AB12;P:k7mq-x2pd-9hzr-4tnw;;'
>>> wifi_qr_payload('a;b', 'p:"q"')
'WIFI:T:WPA;S:a\\\\;b;P:p\\\\:\\\\"q\\\\";;'
>>> "Wachtwoord" in label_text("lk-ab12cd34") or "password" in label_text("lk-ab12cd34").lower()
False
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from html import escape

import segno

LABEL_TEXT = "lessonkit-label.txt"
LABEL_QR = "lessonkit-wifi.svg"
PAGE_QR = "lessonkit-page.svg"
CARD_TEXT = "lessonkit-teacher-card.txt"
CARD_HTML = "lessonkit-teacher-card.html"
REGISTER_TEXT = "lessonkit-register.txt"
HOTSPOT_URL = "https://10.42.0.1/"


def _escape(value: str) -> str:
    # The Wi-Fi QR format (ZXing "WIFI:") reserves these characters.
    for ch in ("\\", ";", ",", ":", '"'):
        value = value.replace(ch, "\\" + ch)
    return value


def wifi_qr_payload(ssid: str, passphrase: str) -> str:
    """The text phones understand as "join this Wi-Fi" when they scan the QR code."""
    return f"WIFI:T:WPA;S:{_escape(ssid)};P:{_escape(passphrase)};;"


def _qr_svg(payload: str, title: str) -> bytes:
    out = io.BytesIO()
    segno.make(payload, error="m").save(out, kind="svg", scale=8, border=4, title=title)
    return out.getvalue()


def wifi_qr_svg(ssid: str, passphrase: str) -> bytes:
    """An SVG QR code for the hotspot: scan it with a phone camera to join."""
    return _qr_svg(wifi_qr_payload(ssid, passphrase), f"Wi-Fi {ssid}")


def page_qr_svg(url: str = HOTSPOT_URL) -> bytes:
    """An SVG QR code of the kit's review page."""
    return _qr_svg(url, url)


def label_text(kit_id: str) -> str:
    """The label for the kit's case: who it is, and whom to ask. No password."""
    return "\n".join([
        "Lesson kit / Leskit",
        f"{kit_id}",
        "",
        "Deze kit filmt lessen voor beeldcoaching. Toegang? Vraag je coach.",
        "This kit films lessons for video coaching. Access? Ask your coach.",
    ]) + "\n"


@dataclass(frozen=True)
class TeacherCard:
    kit_id: str
    ssid: str
    passphrase: str
    fingerprint: str          # SHA-256 of the kit's self-signed certificate, AA:BB:…
    url: str = HOTSPOT_URL

    def text(self) -> str:
        return "\n".join([
            f"Lesson kit {self.kit_id}: kaart voor leraar en coach / card for teacher and coach",
            "Bewaar deze kaart zelf; plak hem niet op de kit. Keep this card; do not stick it on the kit.",
            "",
            f"Wi-Fi:          {self.ssid}",
            f"Wachtwoord:     {self.passphrase}",
            f"Pagina / page:  {self.url}",
            "",
            "De browser vraagt de eerste keer of je het certificaat vertrouwt. Controleer dan",
            "deze vingerafdruk (SHA-256) / The first time, check this certificate fingerprint:",
            f"  {self.fingerprint}",
            "",
            "Kaart kwijt? Laat IT een nieuw wachtwoord maken: kit hotspot rotate",
        ]) + "\n"

    def html(self) -> str:
        wifi = wifi_qr_svg(self.ssid, self.passphrase).decode()
        page = page_qr_svg(self.url).decode()
        e = escape
        fp = e(self.fingerprint).replace(":", ":<wbr>")
        return f"""<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Lesson kit {e(self.kit_id)}</title>
<style>body{{font:14px sans-serif;max-width:18cm}} .qr{{display:inline-block;width:5cm;margin-right:1cm;vertical-align:top}}
.qr svg{{width:5cm;height:5cm}} code{{font-size:12px;word-break:break-all}}</style></head>
<body><h1>Lesson kit {e(self.kit_id)}</h1>
<p><strong>Kaart voor leraar en coach.</strong> Bewaar deze kaart zelf; plak hem niet op de kit.</p>
<div class="qr">{wifi}<p>1. Scan: verbind met de Wi-Fi <strong>{e(self.ssid)}</strong><br>
Wachtwoord: <code>{e(self.passphrase)}</code></p></div>
<div class="qr">{page}<p>2. Scan: open <strong>{e(self.url)}</strong></p></div>
<p>De eerste keer vraagt de browser of je het certificaat vertrouwt. Klopt deze vingerafdruk (SHA-256)?<br>
<code>{fp}</code></p>
<p>Kaart kwijt? Vraag IT om een nieuw Wi-Fi-wachtwoord (<code>kit hotspot rotate</code>).</p>
</body></html>
"""


def register_text(kit_id: str, sync_public_key: str, server: str | None) -> str:
    """For IT: the exact command that admits this kit on the school server."""
    key = sync_public_key.strip()
    return "\n".join([
        f"Lesson kit {kit_id}",
        f"Sync public key: {key}",
        f"School server:   {server or '(none set in lessonkit.toml)'}",
        "Register this kit on the school server with:",
        f"  kit-server add-kit {kit_id} '{key}'",
        "",
        "Print lessonkit-label.txt for the kit's case and lessonkit-teacher-card.html for the",
        "teacher and the coach. The card holds the Wi-Fi password: it never goes on the kit.",
    ]) + "\n"
