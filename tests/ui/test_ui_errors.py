"""Error pages are the app's own and Dutch (English on request); /api/ answers JSON."""

from __future__ import annotations

from ui_helpers import unlock

WERKZEUG = ("Not Found", "The requested URL was not found", "Method Not Allowed",
            "The method is not allowed")


def test_deleted_recording_gives_a_dutch_404_page(client, kit):
    token = unlock(client, kit) and client.get("/api/session").get_json()["csrf_token"]
    rec = kit.own_recording
    assert client.get(f"/recordings/{rec}").status_code == 200
    deleted = client.post(f"/trajectories/recordings/{rec}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert deleted.status_code in (302, 303)
    response = client.get(f"/recordings/{rec}")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert 'lang="nl"' in html and "Niet gevonden" in html and "Misschien is een opname" in html
    assert "Foutcode 404" in html
    assert not any(text in html for text in WERKZEUG)


def test_unknown_page_and_wrong_method_are_dutch(client):
    html = client.get("/bestaat-niet").get_data(as_text=True)
    assert "Niet gevonden" in html and not any(text in html for text in WERKZEUG)
    response = client.get("/lock")  # POST only
    html = response.get_data(as_text=True)
    assert response.status_code == 405 and "Zo kan het niet" in html and "Allow" in response.headers
    assert not any(text in html for text in WERKZEUG)


def test_english_on_request(client):
    html = client.get("/bestaat-niet?lang=en").get_data(as_text=True)
    assert 'lang="en"' in html and "Not found" in html and "may have been deleted" in html


def test_api_errors_are_json(client, kit):
    unlock(client, kit)
    response = client.get("/api/recordings/20990101-0000-nope")
    assert response.status_code == 404 and response.is_json
    assert response.get_json() == {"error": "Deze pagina bestaat niet (meer). Misschien is een opname of "
                                            "fragment verwijderd."}
    response = client.get("/api/bestaat-niet")
    assert response.status_code == 404 and response.is_json
    response = client.get("/api/recordings/x/codes")  # POST only
    assert response.status_code == 405 and response.is_json and "Allow" in response.headers
    # a view's own message is kept
    client.post("/lock", data={"csrf_token": client.get("/api/session").get_json()["csrf_token"]})
    response = client.get("/api/recordings")
    assert response.status_code == 401 and response.get_json()["error"] == "Ontgrendel eerst."
