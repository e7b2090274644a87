// Timeline: clock, progress bar, click to seek, and the marks (bookmarks,
// codes, clips) on the bar and in the list beside the video.

export function formatTime(t) {
  const m = Math.floor(t / 60), s = t - m * 60;
  return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
}

// A code in the page's language: "vraag 2", "feedback positief, strategie, voortgang".
export function codeLabel(code, words) {
  if (code.kind === "question") return words.question + " " + code.category;
  if (code.kind === "feedback") {
    const parts = [words.feedback + " " + (code.valence === "positive" ? words.positive : words.negative)];
    if (code.level) parts.push(words["level_" + code.level] || code.level);
    if (code.progress) parts.push(words.progress);
    return parts.join(", ");
  }
  return words.instruction;
}

export function clipLabel(clip, words) {
  return words[clip.kind] + (clip.title ? " “" + clip.title + "”" : "");
}

// onDelete(kind, id) is called by a mark's × button ("codes" or "clips").
export function createTimeline({video, transport, words, onDelete, doc = document}) {
  const bar = doc.getElementById("timeline");
  const progress = doc.getElementById("progress");
  const clock = doc.getElementById("clock");
  const list = doc.getElementById("marks");
  let shown = {bookmarks: [], codes: [], clips: []};

  video.addEventListener("timeupdate", () => {
    if (clock) clock.textContent = formatTime(video.currentTime);
    if (progress) progress.style.width = (100 * video.currentTime / transport.duration()) + "%";
  });
  video.addEventListener("loadedmetadata", () => draw(shown));
  if (bar) bar.addEventListener("click", (e) => {
    const box = bar.getBoundingClientRect();
    transport.seekTo((e.clientX - box.left) / box.width * transport.duration());
  });

  function marker(cls, t, t2, title) {
    const el = doc.createElement("span");
    const length = transport.duration();
    el.className = "marker " + cls;
    el.style.left = (100 * t / length) + "%";
    if (t2 !== undefined) el.style.width = Math.max(0.5, 100 * (t2 - t) / length) + "%";
    el.title = title;
    bar.appendChild(el);
  }

  function drawList() {
    if (!list) return;
    list.textContent = "";
    const items = shown.codes.map((c) => ({t: c.t, text: codeLabel(c, words), kind: "codes", id: c.id}))
      .concat(shown.clips.map((k) => ({t: k["in"], text: clipLabel(k, words) + " → " + formatTime(k.out),
        kind: "clips", id: k.id, cls: k.kind})))
      .sort((a, b) => a.t - b.t);
    items.forEach((item) => {
      const li = doc.createElement("li");
      li.className = "mark-" + item.kind + (item.cls ? " " + item.cls : "");
      const go = doc.createElement("button");
      go.type = "button"; go.className = "link";
      go.textContent = formatTime(item.t) + " " + item.text;
      go.addEventListener("click", () => transport.seekTo(item.t));
      const del = doc.createElement("button");
      del.type = "button"; del.className = "small"; del.textContent = "×";
      del.title = words["delete"] + ": " + item.text;
      del.setAttribute("aria-label", del.title);
      del.addEventListener("click", () => onDelete(item.kind, item.id));
      li.append(go, del);
      list.appendChild(li);
    });
  }

  // marks: {bookmarks: [t, ...], codes: [...], clips: [...]}
  function draw(marks) {
    shown = {bookmarks: marks.bookmarks || [], codes: marks.codes || [], clips: marks.clips || []};
    if (!bar) return;
    bar.querySelectorAll(".marker").forEach((m) => m.remove());
    shown.bookmarks.forEach((t) => marker("bookmark", t, undefined, words.bookmark + " " + formatTime(t)));
    shown.clips.forEach((k) => marker("clip " + k.kind, k["in"], k.out,
      clipLabel(k, words) + " " + formatTime(k["in"]) + " → " + formatTime(k.out)));
    shown.codes.forEach((c) => marker("code " + c.kind, c.t, undefined, formatTime(c.t) + " " + codeLabel(c, words)));
    drawList();
  }

  return {draw};
}
