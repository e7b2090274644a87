// Opnames: typing narrows the list to the recordings whose date, names or
// state contain every word typed (in the page, nothing is sent anywhere).
const field = document.getElementById("library-search");
const none = document.getElementById("library-none");
if (field) {
  const rows = Array.from(document.querySelectorAll("ul.library li.rec"));
  field.addEventListener("input", () => {
    const words = field.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const hit = words.every((w) => row.dataset.search.includes(w));
      row.hidden = !hit;
      if (hit) shown += 1;
    }
    if (none) none.hidden = shown > 0;
  });
}
