// The live page while a lesson is recorded: the lesson's own elapsed time
// ticking (not the player's position), a bookmark set without reloading (the
// live video keeps playing), and a stop that asks first.
import {csrfToken, sessionEnded, whenUnlocked} from "./reunlock.js";

const words = (document.getElementById("i18n") || {dataset: {}}).dataset;
const note = document.getElementById("live-note");
const say = (text) => { if (note) note.textContent = text; };

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
}

const elapsed = document.getElementById("live-elapsed");
if (elapsed) {
  const startedAt = performance.now() - parseFloat(elapsed.dataset.elapsed || "0") * 1000;
  const tick = () => { elapsed.textContent = clock((performance.now() - startedAt) / 1000); };
  tick();
  setInterval(tick, 1000);
}

const bookmark = document.getElementById("bookmark-form");
if (bookmark) {
  bookmark.addEventListener("submit", async (e) => {
    e.preventDefault();
    const send = () => fetch(bookmark.dataset.api, {method: "POST", credentials: "same-origin",
      headers: {"X-CSRF-Token": csrfToken(), "Accept": "application/json"}});
    try {
      let response = await send();
      if (await sessionEnded(response)) { say(words.sessionended); await whenUnlocked(); response = await send(); }
      const body = await response.json().catch(() => ({}));
      if (!response.ok) { say(words.failed + ": " + (body.error || response.status)); return; }
      say((words.bookmarked || "%(at)s").replace("%(at)s", clock(body.offset_s || 0)));
    } catch (error) {
      say(words.failed + ": " + error.message);
    }
  });
}

document.querySelectorAll("form.stop-form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (e) => { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
});
