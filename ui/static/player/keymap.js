// The key map: the page renders the table (ui/keymap.py) as JSON in
// <script type="application/json" id="keymap">; keys and the buttons'
// data-action both run the named action through one dispatcher.

export function readKeymap(doc = document) {
  const el = doc.getElementById("keymap");
  if (!el) return [];
  try {
    const table = JSON.parse(el.textContent);
    return Array.isArray(table) ? table : [];
  } catch (_malformed) {
    return [];
  }
}

// "code:question:2" -> {name: "code", args: ["question", "2"]}
export function parseAction(action) {
  const [name, ...args] = String(action).split(":");
  return {name, args};
}

// run(action) runs a known action and says whether there was one.
export function createDispatcher(actions) {
  return function run(action) {
    const {name, args} = parseAction(action);
    const fn = Object.prototype.hasOwnProperty.call(actions, name) ? actions[name] : null;
    if (!fn) return false;
    fn(...args);
    return true;
  };
}

export function bindKeys(target, table, run) {
  const byKey = new Map();
  table.forEach((entry) => (entry.keys || []).forEach((key) => byKey.set(key, entry.action)));
  target.addEventListener("keydown", (e) => {
    const tag = (e.target && e.target.tagName) || "";
    if (/INPUT|TEXTAREA|SELECT/.test(tag) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === " " && tag === "BUTTON") return;  // the focused button's own click handles it
    const action = byKey.get(e.key);
    if (action !== undefined && run(action)) e.preventDefault();
  });
}

export function bindButtons(root, run) {
  root.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", () => { run(button.dataset.action); });
  });
}
