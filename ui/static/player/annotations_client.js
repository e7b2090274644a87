// The recording's annotations API (/api/recordings/<id>/…): load the marks,
// add codes and clips, delete them. Every call reports in the status line
// and resolves; none rejects, so nothing is left unhandled. A call that
// finds the session ended waits for the person to unlock in place and is
// sent again (../reunlock.js).
import {csrfToken, sessionEnded, whenUnlocked} from "../reunlock.js";

export function createAnnotationsClient({api, status, words}) {
  function say(text) { if (status) status.textContent = text; }

  async function reason(response) {
    try {
      const body = await response.json();
      return (body && body.error) || String(response.status);
    } catch (_notJson) {
      return String(response.status);
    }
  }

  // Resolves to the answer's JSON (null for 204), or undefined when it failed.
  async function send(method, path, body) {
    const options = {method, credentials: "same-origin",
      headers: {"X-CSRF-Token": csrfToken(), "Content-Type": "application/json"}};
    if (body !== undefined) options.body = JSON.stringify(body);
    try {
      const response = await fetch(api + path, options);
      if (await sessionEnded(response)) {
        say(words.sessionended);
        await whenUnlocked();
        return send(method, path, body);
      }
      if (!response.ok) { say(words.failed + ": " + await reason(response)); return undefined; }
      say(words.saved);
      return response.status === 204 ? null : await response.json();
    } catch (error) {
      say(words.failed + ": " + error.message);
      return undefined;
    }
  }

  // Resolves to {codes, clips}, or undefined when they could not be loaded.
  async function load() {
    try {
      const response = await fetch(api + "/annotations", {credentials: "same-origin"});
      if (await sessionEnded(response)) {
        say(words.sessionended);
        await whenUnlocked();
        return load();
      }
      if (!response.ok) throw new Error(await reason(response));
      return await response.json();
    } catch (error) {
      say(words.loadfailed + ": " + error.message);
      return undefined;
    }
  }

  // The talk analysis (segments, suggestions), or undefined; no status line: it is not a save.
  async function talk() {
    try {
      const response = await fetch(api + "/talk", {credentials: "same-origin"});
      return response.ok ? await response.json() : undefined;
    } catch (_offline) {
      return undefined;
    }
  }

  return {
    load,
    talk,
    correctVoice: (fix) => send("PUT", "/talk/voices", fix),
    addCode: (code) => send("POST", "/codes", code),
    addClip: (clip) => send("POST", "/clips", clip),
    updateClip: (id, change) => send("PATCH", "/clips/" + encodeURIComponent(id), change),
    remove: (kind, id) => send("DELETE", "/" + kind + "/" + encodeURIComponent(id)),
    saveTexts: (texts) => send("PUT", "/texts", texts),
  };
}
