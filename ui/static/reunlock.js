// When the kit ends a session under a page (locked from another device, 15
// idle minutes during a paused discussion, a restart), the page's script
// unlocks it in place: a dialog asks for the passphrase, and the request
// that found the session ended is sent again. Nothing on the page is lost:
// the video keeps its position, a code pressed meanwhile is saved after all.

let pending = null;

export function csrfToken() { return document.body.dataset.csrf || ""; }

function setToken(token) {
  document.body.dataset.csrf = token;
  for (const input of document.querySelectorAll("input[name=csrf_token]")) input.value = token;
}

// True for the kit's answer "this session has ended" (401 with session_ended).
export async function sessionEnded(response) {
  if (response.status !== 401) return false;
  try {
    const body = await response.clone().json();
    return !!(body && body.session_ended);
  } catch (_notJson) {
    return false;
  }
}

// Resolves once the person has unlocked again (one dialog for every request waiting).
export function whenUnlocked() {
  if (!pending) pending = ask().finally(() => { pending = null; });
  return pending;
}

function ask() {
  const dialog = document.getElementById("reunlock");
  if (!dialog || !document.body.dataset.person) return new Promise(() => {});  // nobody to unlock as
  const form = dialog.querySelector("form");
  const field = form.querySelector("input[type=password]");
  const error = dialog.querySelector(".error");
  const button = form.querySelector("button[type=submit]");
  document.body.classList.add("session-ended");
  error.textContent = "";
  field.value = "";
  dialog.addEventListener("cancel", (e) => e.preventDefault());  // Escape would leave the page stuck
  dialog.showModal();
  field.focus();
  return new Promise((resolve) => {
    form.onsubmit = async (e) => {
      e.preventDefault();
      button.disabled = true;
      error.textContent = "";
      try {
        const session = await (await fetch("/api/session", {credentials: "same-origin"})).json();
        const response = await fetch("/api/unlock", {method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRF-Token": session.csrf_token},
          body: JSON.stringify({person: document.body.dataset.person, passphrase: field.value})});
        const body = await response.json().catch(() => ({}));
        if (!response.ok) { error.textContent = body.error || String(response.status); return; }
        field.value = "";
        setToken(body.csrf_token);
        document.body.classList.remove("session-ended");
        dialog.close();
        resolve();
      } catch (_offline) {
        error.textContent = dialog.dataset.offline;
      } finally {
        button.disabled = false;
      }
    };
  });
}
