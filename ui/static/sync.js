// Keeps the sync status line current: every 2 s while a sync runs, every 30 s otherwise.
(function () {
  "use strict";
  var line = document.getElementById("sync-status");
  if (!line || !window.fetch) { return; }
  function schedule(state) {
    window.setTimeout(poll, state === "syncing" ? 2000 : 30000);
  }
  function poll() {
    fetch(line.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }  // locked or logged out meanwhile: stop polling
        line.textContent = s.text;
        line.className = "sync-status sync-" + s.state;
        line.dataset.state = s.state;
        schedule(s.state);
      })
      .catch(function () { schedule(line.dataset.state); });
  }
  schedule(line.dataset.state);
})();
