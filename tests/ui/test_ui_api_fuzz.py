"""The JSON API under schemathesis: generated requests from the OpenAPI
document, sent by an unlocked person with a valid CSRF token to an app with
the real controller (simulated camera), never get a 5xx answer."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from ui_helpers import csrf_of, unlock

import schemathesis  # a test dependency (pyproject [test]): missing, the run fails rather than skips


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    for result in schema.get_all_operations():
        yield result.ok()


def fuzz(operation, send) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case):
        send(case)

    run()


def test_api_never_answers_5xx(live_app, kit):
    app = live_app
    """Unlocked, with a valid token: any generated request gets 2xx/4xx with a message."""
    seen = []
    for operation in operations(app):
        if operation.path in ("/api/unlock", "/api/lock"):
            continue  # they change the session itself: covered by the next test
        seen.append(operation.label)

        def send(case):
            client = app.test_client()
            assert unlock(client, kit).status_code == 302
            token = csrf_of(client)
            sid = client.get_cookie("kit_session").value
            if case.path_parameters and "recording_id" in case.path_parameters:
                # Mostly the person's real recording (random ids all stop at 404).
                if len(str(case.path_parameters["recording_id"])) % 4:
                    case.path_parameters["recording_id"] = kit.own_recording
            response = case.call(headers={**(case.headers or {}), "X-CSRF-Token": token},
                                 cookies={"kit_session": sid})
            assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:300])
            if response.status_code >= 400:
                assert response.json()["error"]

        fuzz(operation, send)
    assert len(seen) >= 12


def test_session_endpoints_never_answer_5xx(app):
    for operation in operations(app):
        if operation.path not in ("/api/unlock", "/api/lock", "/api/session"):
            continue

        def send(case):
            client = app.test_client()
            token = csrf_of(client)
            # Not unlocked: no server-side session, only the nonce the form token is signed over.
            nonce = client.get_cookie("kit_pre").value
            response = case.call(headers={**(case.headers or {}), "X-CSRF-Token": token},
                                 cookies={"kit_pre": nonce})
            assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:300])

        fuzz(operation, send)


def test_openapi_document_is_served(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/recordings/{recording_id}/codes" in spec["paths"]
