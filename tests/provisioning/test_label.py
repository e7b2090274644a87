"""The label and its Wi-Fi QR code."""

import xml.etree.ElementTree as ET

from appliance.provisioning import label, secrets


def test_qr_svg_is_valid_svg_for_the_hotspot():
    svg = label.wifi_qr_svg("Lesson kit AB12CD34", "k7mq-x2pd-9hzr-4tnw")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert root.find(".//{http://www.w3.org/2000/svg}path") is not None


def test_special_characters_are_escaped():
    assert label.wifi_qr_payload("a;b,c", 'x:"y"\\') == 'WIFI:T:WPA;S:a\\;b\\,c;P:x\\:\\"y\\"\\\\;;'


def test_the_case_label_names_the_kit_and_holds_no_password():
    text = label.label_text("lk-ab12cd34")
    assert "lk-ab12cd34" in text and "Vraag je coach" in text
    assert "abcd" not in text and "Wi-Fi" not in text


def test_the_teacher_card_has_the_wifi_the_page_and_the_fingerprint():
    fp = ":".join(["AB"] * 32)
    card = label.TeacherCard("lk-ab12cd34", "Lesson kit AB12CD34", "abcd-efgh-jkmn-pqrs", fp)
    text, html = card.text(), card.html()
    for part in ("Lesson kit AB12CD34", "abcd-efgh-jkmn-pqrs", "https://10.42.0.1/", fp):
        assert part in text
    assert "abcd-efgh-jkmn-pqrs" in html and html.count("<svg") == 2 and "AB:<wbr>AB" in html
    ET.fromstring(label.page_qr_svg())  # a valid SVG


def test_it_gets_the_registration_line():
    text = label.register_text("lk-ab12cd34", "ssh-ed25519 AAAA x\n", None)
    assert "kit-server add-kit lk-ab12cd34 'ssh-ed25519 AAAA x'" in text


def test_passphrase_is_wpa2_valid_and_unique():
    seen = {secrets.new_hotspot_passphrase() for _ in range(200)}
    assert len(seen) == 200
    for p in seen:
        assert 8 <= len(p) <= 63 and p.isascii()
        assert not set(p) & set("01ilo")
