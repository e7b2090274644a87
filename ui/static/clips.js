// Clips and reflections: every form on the page saves itself in place
// (PATCH one clip, PUT the lesson's texts) a moment after typing stops, when
// a field is left and on its Save button, and says "Opgeslagen" beside it.
// No reload, so an edit in one clip never wipes an unsaved edit in another.
// Without script the forms still post as before. A save that finds the
// session ended waits for the person to unlock in place (reunlock.js).
import {csrfToken, sessionEnded, whenUnlocked} from "./reunlock.js";

const DELAY_MS = 800;

function fields(form) {
  const out = {};
  form.querySelectorAll("input[name], textarea[name], select[name]").forEach((el) => {
    if (el.type !== "hidden") out[el.name] = el.value;
  });
  return out;
}

function clipBody(form) {
  const values = fields(form);
  const body = {title: values.title || "", reflection: {}};
  if (values.kind === "pearl" || values.kind === "puzzle") body.kind = values.kind;
  Object.keys(values).forEach((name) => {
    const m = /^(teacher|pupils)_(want|feel|think|do)$/.exec(name);
    if (!m) return;
    body.reflection[m[1]] = body.reflection[m[1]] || {};
    body.reflection[m[1]][m[2]] = values[name];
  });
  return body;
}

function textsBody(form) {
  const values = fields(form);
  const body = {};
  ["title", "class", "subject", "learning_question", "notes"].forEach((k) => { if (k in values) body[k] = values[k]; });
  return body;
}

async function reason(response) {
  try {
    const body = await response.json();
    return (body && body.error) || String(response.status);
  } catch (_notJson) {
    return String(response.status);
  }
}

function autosave(form, words) {
  const note = form.querySelector(".saved-note");
  const isClip = form.dataset.kind === "clip";
  let timer = null;
  let sent = JSON.stringify(isClip ? clipBody(form) : textsBody(form));
  let chain = Promise.resolve();

  function say(text, failed) {
    if (!note) return;
    note.textContent = text;
    note.classList.toggle("error", !!failed);
  }

  async function send(body) {
    try {
      const response = await fetch(form.dataset.api, {method: isClip ? "PATCH" : "PUT", credentials: "same-origin", keepalive: true,
        headers: {"X-CSRF-Token": csrfToken(), "Content-Type": "application/json"}, body});
      if (await sessionEnded(response)) {
        say(words.sessionended, true);
        await whenUnlocked();
        return send(body);
      }
      if (!response.ok) { say(words.failed + ": " + await reason(response), true); return; }
      const saved = await response.json();
      if (isClip) {
        const section = form.closest("section.clip");
        const title = section && section.querySelector(".clip-title");
        if (title) title.textContent = saved.title || words[saved.kind] || "";
        if (section) section.className = "card clip clip-" + saved.kind;
      }
      sent = body;
      say(words.saved, false);
    } catch (error) {
      say(words.failed + ": " + error.message, true);
    }
  }

  // Saves run one after another, so an older one never lands after a newer one.
  function saveNow() {
    clearTimeout(timer);
    timer = null;
    const body = JSON.stringify(isClip ? clipBody(form) : textsBody(form));
    if (body === sent) { say(words.saved, false); return chain; }
    say(words.saving, false);
    chain = chain.then(() => send(body));
    return chain;
  }

  form.addEventListener("input", () => {
    say("", false);
    clearTimeout(timer);
    timer = setTimeout(saveNow, DELAY_MS);
  });
  form.addEventListener("change", saveNow);
  form.addEventListener("submit", (e) => { e.preventDefault(); saveNow(); });
  return saveNow;
}

const words = (document.getElementById("clip-words") || {dataset: {}}).dataset;
const savers = Array.from(document.querySelectorAll("form[data-autosave]")).map((f) => autosave(f, words));
// Deleting a clip (its title and reflection with it) asks first.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (e) => { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
});
// Leaving the page (a link, the back button) first saves what is pending.
window.addEventListener("pagehide", () => savers.forEach((save) => save()));
