"""``make screenshots``: the main pages of the review app at phone, iPad and laptop sizes.

Builds a throwaway kit (a teacher, her coach, a colleague, a real simulated
recording with codes, a clip and an intervisie share), serves the review app
over its real TLS listener and photographs each page in Debian's Chromium,
in Dutch, into ``docs/screenshots/<page>-<size>.png``, with an index
(``docs/screenshots/README.md``). The same helpers as the browser tests.

    python tests/ui/screenshots.py docs/screenshots
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

SIZES = {"telefoon": (390, 844), "ipad": (820, 1180), "laptop": (1280, 800)}


def _prepare(kit) -> dict[str, str]:
    """A clip, codes, a group and a share, made the way a teacher makes them."""
    from appliance.catalogue import Catalogue
    from appliance.identities import create_person
    from ui import create_app
    from ui.config import TestingConfig
    from ui_helpers import csrf_of, unlock

    catalogue = Catalogue(kit.data_dir / "catalogue.db")
    create_person(kit.data_dir, catalogue, "Dora", "teacher", "dora-screenshot-pass", work_factor=10)
    catalogue.close()
    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    anna = app.test_client()
    unlock(anna, kit, "Anna")
    api = f"/api/recordings/{kit.own_recording}"
    token = {"X-CSRF-Token": csrf_of(anna)}
    for t, kind, extra in ((2.0, "instruction", {}), (4.5, "question", {"category": 2}),
                           (8.0, "feedback", {"valence": "positive", "level": "strategy", "progress": True})):
        anna.post(api + "/codes", json={"t": t, "kind": kind, **extra}, headers=token)
    anna.post(api + "/clips", json={"in": 3.5, "out": 9.0, "kind": "pearl"}, headers=token)
    clip_id = anna.get(api + "/annotations").get_json()["clips"][0]["id"]
    anna.patch(api + f"/clips/{clip_id}", json={"title": "Mooie vraag", "reflection": {}}, headers=token)
    members = [app.extensions["kit_catalogue"].find_person(n)["id"] for n in ("Cor", "Dora")]
    anna.post("/intervisie/groups", data={"csrf_token": csrf_of(anna), "name": "Kijkgroep", "member": members})
    from appliance.intervisie import Shares

    group = Shares(app.extensions["kit_catalogue"], kit.data_dir).groups.find("Kijkgroep")["id"]
    from test_intervisie import share_from_the_form

    shared = share_from_the_form(anna, kit, clip_id, group, "Wat zien jullie hier?")
    return {"clip": clip_id, "share": shared.headers["Location"].rsplit("/", 1)[1]}


def main(out: Path) -> int:
    from ui import create_app
    from ui.config import TestingConfig
    from ui_recording import PASSPHRASES, add_360_lesson, build
    from ui_server import chromium, serve

    out.mkdir(parents=True, exist_ok=True)
    kit = build(Path(tempfile.mkdtemp(prefix="lkit-shots-")) / "data")
    made = _prepare(kit)
    rec = kit.own_recording
    rec360 = add_360_lesson(kit.data_dir)
    pages = [
        ("ontgrendelen", "/unlock", False, "Ontgrendelen: naam en wachtwoordzin"),
        ("opnames", "/library", True, "Opnames"),
        ("speler", f"/recordings/{rec}", True, "De speler met het codeerpaneel"),
        ("speler-360", f"/recordings/{rec360}", True, "Een 360°-les: rondkijken in de speler"),
        ("fragmenten", f"/recordings/{rec}/clips", True, "Fragmenten en reflecties"),
        ("statistiek", f"/recordings/{rec}/stats", True, "Statistiek van de les"),
        ("wie-mag-kijken", "/consent", True, "Wie mag kijken"),
        ("intervisie", "/intervisie", True, "Intervisie: groepen en gedeelde fragmenten"),
        ("delen", f"/intervisie/share/{rec}/{made['clip']}", True, "Een fragment delen met de groep"),
        ("gedeeld-fragment", f"/shares/{made['share']}", True, "Een gedeeld fragment met reflecties"),
        ("mijn-sleutel", "/key", True, "Mijn sleutel: reservekopie en vernieuwen"),
    ]
    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    index = ["# Screenshots", "", "Made by `make screenshots` (`tests/ui/screenshots.py`) in Debian's Chromium, "
             "Dutch, on a throwaway kit with a simulated recording.", "",
             "| page | " + " | ".join(SIZES) + " |", "|---|" + "---|" * len(SIZES)]
    with serve(app) as site, chromium(webgl=True) as browser:
        rows = {name: [] for name, *_ in pages}
        for size, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height}, locale="nl-NL")
            page = context.new_page()
            for name, path, unlocked, _title in pages:
                if unlocked and "/library" not in page.url and not rows.get("_unlocked_" + size):
                    page.goto(site + "/unlock")
                    page.select_option("#person", kit.people["Anna"]["id"])
                    page.fill("#passphrase", PASSPHRASES["Anna"])
                    page.click("#unlock-button")
                    page.wait_for_url(site + "/library")
                    rows["_unlocked_" + size] = [True]
                page.goto(site + path)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(1500 if name == "speler-360" else 400)
                file = out / f"{name}-{size}.png"
                page.screenshot(path=str(file))
                rows[name].append(f"[{size}]({file.name})")
            context.close()
    for name, _path, _unlocked, title in pages:
        index.append(f"| {title} | " + " | ".join(rows[name]) + " |")
    (out / "README.md").write_text("\n".join(index) + "\n")
    print(f"wrote {len(pages) * len(SIZES)} screenshots to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")))
