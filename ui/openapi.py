"""OpenAPI 3.0 description of the JSON API (served at ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

_ID = {"name": "recording_id", "in": "path", "required": True, "schema": {"type": "string"}}
_ITEM = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}}
_CSRF = {"name": "X-CSRF-Token", "in": "header", "required": True, "schema": {"type": "string"}}
_ERR = {"description": "refused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(ref: str, description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): _ERR for c in codes}


_TEXT = {"type": "string", "maxLength": 10000}
_GRID_ROW = {"type": "object", "properties": {k: _TEXT for k in ("want", "feel", "think", "do")},
             "additionalProperties": False}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Lesson kit review API", "version": "1.0.0",
             "description": "Recordings encrypted to the unlocked person, their coding, clips and statistics."},
    "paths": {
        "/api/session": {"get": {"operationId": "session", "responses": {"200": _json("#/components/schemas/Session")}}},
        "/api/unlock": {"post": {
            "operationId": "unlock", "parameters": [_CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["person", "passphrase"],
                "properties": {"person": {"type": "string"}, "passphrase": {"type": "string"}}}}}},
            "responses": {"200": _json("#/components/schemas/Session"), **_errors(400, 401, 429)}}},
        "/api/lock": {"post": {"operationId": "lock", "parameters": [_CSRF],
                               "responses": {"200": _json("#/components/schemas/Session"), **_errors(400)}}},
        "/api/status": {"get": {"operationId": "status",
                                "responses": {"200": _json("#/components/schemas/Status"), **_errors(401, 403)}}},
        "/api/control/{action}": {"post": {
            "operationId": "control",
            "parameters": [{"name": "action", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": ["start", "stop", "bookmark"]}}, _CSRF],
            "responses": {"200": {"description": "done", "content": {"application/json": {"schema": {"type": "object"}}}},
                          **_errors(400, 401, 403, 409, 503)}}},
        "/api/sync-status": {"get": {"operationId": "syncStatus",
                                     "responses": {"200": _json("#/components/schemas/SyncStatus"), **_errors(401)}}},
        "/api/recordings": {"get": {"operationId": "listRecordings", "responses": {
            "200": {"description": "recordings encrypted to the unlocked person", "content": {"application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Recording"}}}}},
            **_errors(401, 403)}}},
        "/api/recordings/{recording_id}": {"get": {"operationId": "getRecording", "parameters": [_ID],
            "responses": {"200": _json("#/components/schemas/Recording"), **_errors(401, 403, 404)}}},
        "/api/recordings/{recording_id}/annotations": {"get": {"operationId": "getAnnotations", "parameters": [_ID],
            "responses": {"200": _json("#/components/schemas/Annotations"), **_errors(401, 403, 404)}}},
        "/api/recordings/{recording_id}/codes": {"post": {
            "operationId": "addCode", "parameters": [_ID, _CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewCode"}}}},
            "responses": {"201": _json("#/components/schemas/Code"), **_errors(400, 401, 403, 404)}}},
        "/api/recordings/{recording_id}/codes/{item_id}": {"delete": {
            "operationId": "deleteCode", "parameters": [_ID, _ITEM, _CSRF],
            "responses": {"204": {"description": "deleted"}, **_errors(400, 401, 403, 404)}}},
        "/api/recordings/{recording_id}/clips": {"post": {
            "operationId": "addClip", "parameters": [_ID, _CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewClip"}}}},
            "responses": {"201": _json("#/components/schemas/Clip"), **_errors(400, 401, 403, 404)}}},
        "/api/recordings/{recording_id}/clips/{item_id}": {
            "patch": {"operationId": "updateClip", "parameters": [_ID, _ITEM, _CSRF],
                      "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClipChange"}}}},
                      "responses": {"200": _json("#/components/schemas/Clip"), **_errors(400, 401, 403, 404)}},
            "delete": {"operationId": "deleteClip", "parameters": [_ID, _ITEM, _CSRF],
                       "responses": {"204": {"description": "deleted"}, **_errors(400, 401, 403, 404)}}},
        "/api/recordings/{recording_id}/texts": {"put": {
            "operationId": "setTexts", "parameters": [_ID, _CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"learning_question": _TEXT, "notes": _TEXT}}}}},
            "responses": {"200": {"description": "saved", "content": {"application/json": {"schema": {"type": "object"}}}},
                          **_errors(400, 401, 403, 404)}}},
        "/api/recordings/{recording_id}/stats": {"get": {
            "operationId": "getStats",
            "parameters": [_ID, {"name": "window", "in": "query", "required": False,
                                 "schema": {"type": "number", "minimum": 0}}],
            "responses": {"200": _json("#/components/schemas/Stats"), **_errors(400, 401, 403, 404)}}},
        "/api/recordings/{recording_id}/talk": {
            "get": {"operationId": "getTalk",
                    "parameters": [_ID, {"name": "window", "in": "query", "required": False,
                                         "description": "start (s) of a 10-minute window: the figures and the "
                                                        "waits of that part of the lesson only",
                                         "schema": {"type": "number", "minimum": 0}}],
                    "responses": {"200": _json("#/components/schemas/Talk"), **_errors(400, 401, 403, 404)}},
            "post": {"operationId": "startTalk", "parameters": [_ID, _CSRF],
                     "responses": {"202": _json("#/components/schemas/Talk", "analysis queued"),
                                   **_errors(400, 401, 403, 404, 409)}}},
        "/api/recordings/{recording_id}/talk/voices": {"put": {
            "operationId": "correctVoice", "parameters": [_ID, _CSRF],
            "description": "Say who speaks in the talk segment that starts at start_s; voice null undoes it. "
                           "Kept with the annotations (teacher and coach); every measure uses it.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["start_s", "voice"], "properties": {
                    "start_s": {"type": "number", "minimum": 0},
                    "voice": {"type": "string", "nullable": True, "enum": ["near", "far", None]}}}}}},
            "responses": {"200": _json("#/components/schemas/Talk"), **_errors(400, 401, 403, 404, 409)}}},
    },
    "components": {"schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string"},
            "retry_after_s": {"type": "integer", "minimum": 1,
                              "description": "on a 429: seconds before trying again can work (also Retry-After)"}}},
        "Session": {"type": "object", "required": ["csrf_token", "unlocked"], "properties": {
            "csrf_token": {"type": "string"}, "unlocked": {"type": "boolean"},
            "person": {"type": "string", "nullable": True}, "admin": {"type": "boolean"}}},
        "Status": {"type": "object", "required": ["state"], "properties": {
            "state": {"type": "string"}, "reason": {"nullable": True}, "recording_id": {"type": "string", "nullable": True},
            "elapsed_s": {"type": "number", "nullable": True}, "watchable": {"type": "boolean"}}},
        "SyncStatus": {"type": "object", "required": ["state", "text"], "properties": {
            "state": {"type": "string", "enum": ["not_configured", "never", "syncing", "done", "failed"]},
            "at": {"type": "string", "nullable": True}, "error": {"type": "string", "nullable": True},
            "pending_batches": {"type": "integer"}, "text": {"type": "string"}}},
        "Recording": {"type": "object", "required": ["id", "started_at", "duration_s", "state"], "properties": {
            "id": {"type": "string"}, "started_at": {"type": "string"}, "duration_s": {"type": "number"},
            "state": {"type": "string", "enum": ["recording", "complete", "interrupted"]},
            "teacher": {"type": "string", "nullable": True}, "coach": {"type": "string", "nullable": True},
            "segments": {"type": "integer"}, "retention_until": {"type": "string", "nullable": True},
            "bookmarks": {"type": "array", "items": {"type": "number"}}}},
        "NewCode": {"type": "object", "required": ["t", "kind"], "properties": {
            "t": {"type": "number", "minimum": 0},
            "kind": {"type": "string", "enum": ["instruction", "question", "feedback"]},
            "category": {"type": "integer", "enum": [1, 2, 3]},
            "valence": {"type": "string", "enum": ["positive", "negative"]},
            "level": {"type": "string", "enum": ["content", "strategy", "modus", "personal"]},
            "progress": {"type": "boolean"}}},
        "Code": {"allOf": [{"$ref": "#/components/schemas/NewCode"},
                           {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}]},
        "Reflection": {"type": "object", "properties": {"teacher": _GRID_ROW, "pupils": _GRID_ROW},
                       "additionalProperties": False},
        "NewClip": {"type": "object", "required": ["in", "out", "kind"], "properties": {
            "in": {"type": "number", "minimum": 0}, "out": {"type": "number", "minimum": 0},
            "kind": {"type": "string", "enum": ["pearl", "puzzle"]}, "title": {"type": "string", "maxLength": 200},
            "reflection": {"$ref": "#/components/schemas/Reflection"},
            "view": {"$ref": "#/components/schemas/View"}}},
        "ClipChange": {"type": "object", "properties": {
            "in": {"type": "number", "minimum": 0}, "out": {"type": "number", "minimum": 0},
            "kind": {"type": "string", "enum": ["pearl", "puzzle"]}, "title": {"type": "string", "maxLength": 200},
            "reflection": {"$ref": "#/components/schemas/Reflection"},
            "view": {"$ref": "#/components/schemas/View"}}},
        "View": {"type": "object", "nullable": True, "required": ["yaw", "pitch", "fov"],
                 "description": "Where a 360° clip looks at its in point, in degrees.",
                 "properties": {"yaw": {"type": "number", "minimum": -180, "maximum": 180},
                                "pitch": {"type": "number", "minimum": -90, "maximum": 90},
                                "fov": {"type": "number", "minimum": 30, "maximum": 120}}},
        "Clip": {"allOf": [{"$ref": "#/components/schemas/NewClip"},
                           {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}]},
        "Annotations": {"type": "object", "required": ["recording_id", "codes", "clips"], "properties": {
            "recording_id": {"type": "string"}, "learning_question": {"type": "string"}, "notes": {"type": "string"},
            "codes": {"type": "array", "items": {"$ref": "#/components/schemas/Code"}},
            "clips": {"type": "array", "items": {"$ref": "#/components/schemas/Clip"}},
            "updated_at": {"type": "string", "nullable": True}, "version": {"type": "integer"}}},
        "Talk": {"type": "object", "required": ["state", "segments", "totals", "wait_times"], "properties": {
            "state": {"type": "string", "enum": ["none", "pending", "done", "failed"]},
            "error": {"type": "string"},
            "segments": {"type": "array", "items": {"type": "object", "required": ["start_s", "end_s", "voice", "confidence"],
                "properties": {"start_s": {"type": "number"}, "end_s": {"type": "number"},
                               "voice": {"type": "string", "enum": ["near", "far"]},
                               "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                               "corrected": {"type": "boolean", "description": "the coach chose the voice"}}}},
            "suggestions": {"type": "array", "description": "possible question → answer moments not yet coded",
                            "items": {"type": "object", "required": ["t", "wait_s", "answer_s"], "properties": {
                                "t": {"type": "number"}, "wait_s": {"type": "number"}, "answer_s": {"type": "number"}}}},
            "totals": {"type": "object", "nullable": True, "required": ["near_s", "far_s", "silence_s"], "properties": {
                "near_s": {"type": "number"}, "far_s": {"type": "number"}, "silence_s": {"type": "number"}}},
            "wait_times": {"type": "array", "items": {"type": "object", "required": ["code_id", "t", "category", "wait_s"],
                "properties": {"code_id": {"type": "string", "nullable": True}, "t": {"type": "number"},
                               "category": {"type": "integer", "nullable": True},
                               "wait_s": {"type": "number", "nullable": True,
                                          "description": "wait time 1: end of the question to the next speech"},
                               "answer_s": {"type": "number", "nullable": True,
                                            "description": "the pupils' answer: first to last far speech "
                                                           "before the teacher speaks again"},
                               "wait2_s": {"type": "number", "nullable": True,
                                           "description": "wait time 2: end of the answer to the teacher's "
                                                          "next speech"}}}},
            "shares": {"$ref": "#/components/schemas/TalkShares"},
            "longest_near_s": {"type": "number"}, "turns": {"type": "integer"},
            "mean_wait_s": {"type": "number", "nullable": True}, "long_wait_share": {"type": "number", "nullable": True},
            "mean_wait2_s": {"type": "number", "nullable": True},
            "long_wait2_share": {"type": "number", "nullable": True},
            "median_answer_s": {"type": "number", "nullable": True},
            "mean_answer_s": {"type": "number", "nullable": True},
            "by_category": {"type": "array", "items": {"type": "object", "required": [
                "category", "questions", "measured", "total_wait_s", "mean_wait_s", "long_wait_share"], "properties": {
                "category": {"type": "integer", "enum": [1, 2, 3]}, "questions": {"type": "integer"},
                "measured": {"type": "integer"}, "total_wait_s": {"type": "number"},
                "mean_wait_s": {"type": "number", "nullable": True},
                "long_wait_share": {"type": "number", "nullable": True}}}},
            "window": {"type": "array", "nullable": True, "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                       "description": "[start, end] of the chosen window; null for the whole lesson"},
            "windows": {"type": "array", "description": "talk per 10-minute window of the whole lesson",
                        "items": {"type": "object", "required": ["start_s", "end_s", "near_s", "far_s", "silence_s",
                                                                 "shares"], "properties": {
                            "start_s": {"type": "number"}, "end_s": {"type": "number"},
                            "near_s": {"type": "number"}, "far_s": {"type": "number"},
                            "silence_s": {"type": "number"},
                            "shares": {"$ref": "#/components/schemas/TalkShares"}}}},
            "duration_s": {"type": "number", "nullable": True}}},
        "TalkShares": {"type": "object", "required": ["near", "far", "silence"], "properties": {
            "near": {"type": "number"}, "far": {"type": "number"}, "silence": {"type": "number"}}},
        "Stats": {"type": "object", "required": ["counts"], "properties": {
            "counts": {"type": "object"}, "rate_per_min": {"type": "object"}, "questions": {"type": "object"},
            "feedback": {"type": "object"}, "feedback_ratio": {"type": "number", "nullable": True},
            "pearls": {"type": "integer"}, "puzzles": {"type": "integer"},
            "pearl_ratio": {"type": "number", "nullable": True}, "window": {"type": "array", "items": {"type": "number"}}}},
    }},
}
