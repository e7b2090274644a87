// Review player: HLS (native or hls.js), seek/frame-step/slow motion,
// one-key coding, clip marking, and the marks on the timeline.
(function () {
  "use strict";
  var root = document.getElementById("player");
  var video = document.getElementById("video");
  if (!root || !video) return;
  var csrf = document.body.dataset.csrf;
  var words = (document.getElementById("i18n") || {dataset: {}}).dataset;
  var api = root.dataset.api;
  var fps = parseFloat(root.dataset.fps) || 30;
  var knownDuration = parseFloat(root.dataset.duration) || 0;
  var bookmarks = JSON.parse(root.dataset.bookmarks || "[]");
  var doc = {codes: [], clips: []};
  var clipIn = null, clipOut = null;
  var errorBox = document.getElementById("media-error");

  function showError(text) { if (errorBox) { errorBox.textContent = text; errorBox.hidden = false; } }

  var live = root.dataset.live === "true";
  var attempts = 0;

  // A live (EVENT) playlist starts empty: wait until a few seconds are sealed,
  // since a player given no segment at all may give up for good.
  function whenPlayable(then) {
    fetch(root.dataset.playlist, {credentials: "same-origin"}).then(function (r) { return r.text(); })
      .then(function (text) {
        if ((text.match(/#EXTINF/g) || []).length >= 2 || !live) then();
        else setTimeout(function () { whenPlayable(then); }, 1000);
      }).catch(function () { setTimeout(function () { whenPlayable(then); }, 2000); });
  }

  function attach() {
    var src = root.dataset.playlist;
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.dataset.engine = "native";
      video.src = src;
      if (live) {
        video.addEventListener("error", function retry() {
          video.removeEventListener("error", retry);
          if (attempts++ < 5) setTimeout(function () { video.src = src; video.play().catch(function () {}); }, 2000);
        });
        video.play().catch(function () {});
      }
      return;
    }
    var script = document.createElement("script");
    script.src = root.dataset.hls;
    script.onload = function () {
      if (!window.Hls || !window.Hls.isSupported()) { showError(words.nohls); return; }
      var hls = new window.Hls({enableWorker: true, lowLatencyMode: false,
        liveSyncDurationCount: 2, maxBufferLength: 20});
      video.dataset.engine = "hls.js";
      hls.on(window.Hls.Events.ERROR, function (_e, data) {
        if (data.fatal) {
          video.dataset.error = data.type + ":" + data.details;
          showError(words.nohls + " (" + data.details + ")");
        }
      });
      hls.loadSource(src);
      hls.attachMedia(video);
      if (live) hls.on(window.Hls.Events.MANIFEST_PARSED, function () { video.play().catch(function () {}); });
      window.kitHls = hls;
    };
    script.onerror = function () { showError(words.nohls); };
    document.head.appendChild(script);
  }

  function duration() {
    if (isFinite(video.duration) && video.duration > 0) return video.duration;
    if (video.seekable && video.seekable.length) return video.seekable.end(video.seekable.length - 1);
    return knownDuration || 1;
  }
  function fmt(t) {
    var m = Math.floor(t / 60), s = t - m * 60;
    return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
  }
  function seekTo(t) { video.currentTime = Math.max(0, Math.min(duration(), t)); }
  function step(frames) { video.pause(); seekTo(video.currentTime + frames / fps); }
  function rate(r) { video.playbackRate = r; }
  function toggle() { if (video.paused) video.play(); else video.pause(); }

  var timeline = document.getElementById("timeline");
  var progress = document.getElementById("progress");
  var clock = document.getElementById("clock");
  video.addEventListener("timeupdate", function () {
    if (clock) clock.textContent = fmt(video.currentTime);
    if (progress) progress.style.width = (100 * video.currentTime / duration()) + "%";
  });
  video.addEventListener("loadedmetadata", drawMarks);
  if (timeline) timeline.addEventListener("click", function (e) {
    var box = timeline.getBoundingClientRect();
    seekTo((e.clientX - box.left) / box.width * duration());
  });

  function marker(cls, t, t2, title) {
    var el = document.createElement("span");
    el.className = "marker " + cls;
    el.style.left = (100 * t / duration()) + "%";
    if (t2 !== undefined) el.style.width = Math.max(0.5, 100 * (t2 - t) / duration()) + "%";
    el.title = title;
    timeline.appendChild(el);
  }
  function label(code) {
    if (code.kind === "question") return words.question + " " + code.category;
    if (code.kind === "feedback") return words.feedback + " " + (code.valence === "positive" ? "+" : "−") + " " + code.level;
    return words.instruction;
  }
  function drawMarks() {
    if (!timeline) return;
    Array.prototype.slice.call(timeline.querySelectorAll(".marker")).forEach(function (m) { m.remove(); });
    bookmarks.forEach(function (t) { marker("bookmark", t, undefined, words.bookmark + " " + fmt(t)); });
    doc.clips.forEach(function (k) { marker("clip " + k.kind, k["in"], k.out, words[k.kind]); });
    doc.codes.forEach(function (c) { marker("code " + c.kind, c.t, undefined, label(c)); });
    var list = document.getElementById("marks");
    if (!list) return;
    list.textContent = "";
    var items = doc.codes.map(function (c) { return {t: c.t, text: label(c), kind: "codes", id: c.id}; })
      .concat(doc.clips.map(function (k) { return {t: k["in"], text: words[k.kind] + " → " + fmt(k.out), kind: "clips", id: k.id}; }))
      .sort(function (a, b) { return a.t - b.t; });
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "mark-" + item.kind;
      var go = document.createElement("button");
      go.type = "button"; go.className = "link";
      go.textContent = fmt(item.t) + " " + item.text;
      go.addEventListener("click", function () { seekTo(item.t); });
      var del = document.createElement("button");
      del.type = "button"; del.className = "small"; del.textContent = "×"; del.title = words["delete"];
      del.addEventListener("click", function () {
        send("DELETE", api + "/" + item.kind + "/" + encodeURIComponent(item.id)).then(load);
      });
      li.appendChild(go); li.appendChild(del); list.appendChild(li);
    });
  }

  var status = document.getElementById("save-status");
  function send(method, url, body) {
    var opts = {method: method, credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf, "Content-Type": "application/json"}};
    if (body !== undefined) opts.body = JSON.stringify(body);
    return fetch(url, opts).then(function (r) {
      if (!r.ok) return r.json().then(function (e) { throw new Error(e.error || r.status); });
      if (status) status.textContent = words.saved;
      return r.status === 204 ? null : r.json();
    }).catch(function (e) { if (status) status.textContent = words.failed + ": " + e.message; throw e; });
  }
  function load() {
    if (!api) return Promise.resolve();
    return fetch(api + "/annotations", {credentials: "same-origin"}).then(function (r) { return r.json(); })
      .then(function (d) { doc = d; drawMarks(); });
  }

  function level() {
    var chosen = document.querySelector("input[name=level]:checked");
    return chosen ? chosen.value : "content";
  }
  function code(kind, extra) {
    var body = {t: Math.round(video.currentTime * 1000) / 1000, kind: kind};
    Object.keys(extra || {}).forEach(function (k) { body[k] = extra[k]; });
    if (kind === "feedback") {
      body.level = level();
      var flag = document.getElementById("progress-flag");
      body.progress = !!(flag && flag.checked);
    }
    return send("POST", api + "/codes", body).then(load);
  }
  function showRange() {
    var el = document.getElementById("clip-range");
    if (el) el.textContent = (clipIn === null ? "–" : fmt(clipIn)) + " → " + (clipOut === null ? "–" : fmt(clipOut));
  }
  function saveClip(kind) {
    if (clipIn === null || clipOut === null || clipOut <= clipIn) { if (status) status.textContent = words.needinout; return; }
    send("POST", api + "/clips", {"in": clipIn, out: clipOut, kind: kind}).then(function () {
      clipIn = clipOut = null; showRange(); return load();
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-seek]"), function (b) {
    b.addEventListener("click", function () { seekTo(video.currentTime + parseFloat(b.dataset.seek)); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-frame]"), function (b) {
    b.addEventListener("click", function () { step(parseInt(b.dataset.frame, 10)); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-rate]"), function (b) {
    b.addEventListener("click", function () { rate(parseFloat(b.dataset.rate)); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-code]"), function (b) {
    b.addEventListener("click", function () {
      var extra = {};
      if (b.dataset.category) extra.category = parseInt(b.dataset.category, 10);
      if (b.dataset.valence) extra.valence = b.dataset.valence;
      code(b.dataset.code, extra);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-clip]"), function (b) {
    b.addEventListener("click", function () { saveClip(b.dataset.clip); });
  });
  var play = document.getElementById("play");
  if (play) play.addEventListener("click", toggle);
  var markIn = document.getElementById("mark-in"), markOut = document.getElementById("mark-out");
  if (markIn) markIn.addEventListener("click", function () { clipIn = video.currentTime; showRange(); });
  if (markOut) markOut.addEventListener("click", function () { clipOut = video.currentTime; showRange(); });

  function setLevel(v) {
    var el = document.querySelector("input[name=level][value=" + v + "]");
    if (el) el.checked = true;
  }
  document.addEventListener("keydown", function (e) {
    var tag = (e.target && e.target.tagName) || "";
    if (/INPUT|TEXTAREA|SELECT/.test(tag) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === " " && tag === "BUTTON") return;  // the focused button's own click handles it
    var actions = {
      " ": toggle, "ArrowLeft": function () { seekTo(video.currentTime - 5); },
      "ArrowRight": function () { seekTo(video.currentTime + 5); },
      ",": function () { step(-1); }, ".": function () { step(1); },
      "z": function () { rate(0.25); }, "x": function () { rate(0.5); }, "n": function () { rate(1); }
    };
    if (api) {
      actions.i = function () { code("instruction"); };
      actions["1"] = function () { code("question", {category: 1}); };
      actions["2"] = function () { code("question", {category: 2}); };
      actions["3"] = function () { code("question", {category: 3}); };
      actions["+"] = actions["="] = function () { code("feedback", {valence: "positive"}); };
      actions["-"] = function () { code("feedback", {valence: "negative"}); };
      actions.c = function () { setLevel("content"); }; actions.s = function () { setLevel("strategy"); };
      actions.m = function () { setLevel("modus"); }; actions.p = function () { setLevel("personal"); };
      actions.g = function () { var f = document.getElementById("progress-flag"); if (f) f.checked = !f.checked; };
      actions["["] = function () { clipIn = video.currentTime; showRange(); };
      actions["]"] = function () { clipOut = video.currentTime; showRange(); };
    }
    var fn = actions[e.key];
    if (fn) { e.preventDefault(); fn(); }
  });

  whenPlayable(attach);
  load().then(drawMarks);
  window.kitPlayer = {video: video, seekTo: seekTo, step: step, rate: rate};
})();
