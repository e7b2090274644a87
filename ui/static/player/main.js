// The review player and the live view: wires the <video>, the transport,
// the timeline, the annotations API and the key map together. Nothing is
// put on window.
import {createAnnotationsClient} from "./annotations_client.js";
import {attachPlaylist} from "./hls_attach.js";
import {bindButtons, bindKeys, createDispatcher, readKeymap} from "./keymap.js";
import {formatTime, createTimeline} from "./timeline.js";
import {createTransport, spanFromHash} from "./transport.js";
import {createSphere, lookActions} from "./sphere.js";

function readWords() {
  const el = document.getElementById("i18n");
  return el ? el.dataset : {};
}

function readJson(text, fallback) {
  try { return JSON.parse(text); } catch (_malformed) { return fallback; }
}

function start(root, video) {
  const words = readWords();
  const api = root.dataset.api;
  const live = root.dataset.live === "true";
  const bookmarks = readJson(root.dataset.bookmarks || "[]", []);
  const errorBox = document.getElementById("media-error");
  const status = document.getElementById("save-status");
  const say = (text) => { if (status) status.textContent = text; };
  const showError = (text) => { if (errorBox) { errorBox.textContent = text; errorBox.hidden = false; } };

  const transport = createTransport(video, {fps: parseFloat(root.dataset.fps) || 30,
    knownDuration: parseFloat(root.dataset.duration) || 0});
  const client = api ? createAnnotationsClient({api, status, words}) : null;
  let marks = {codes: [], clips: []};
  const timeline = createTimeline({video, transport, words, onDelete: remove});

  function draw() { timeline.draw({bookmarks, codes: marks.codes, clips: marks.clips}); }

  async function refresh() {
    if (!client) return;
    const loaded = await client.load();
    if (loaded) { marks = loaded; draw(); }
  }

  // A clip carries its title and reflection: ask before it goes.
  async function remove(kind, id) {
    if (kind === "clips") {
      const clip = marks.clips.find((k) => k.id === id);
      const what = clip ? words[clip.kind] + " " + formatTime(clip["in"]) + " → " + formatTime(clip.out) : "";
      if (!window.confirm(words.confirmclip.replace("%(clip)s", what))) return;
    }
    if ((await client.remove(kind, id)) !== undefined) await refresh();
  }

  // The learning question is saved in place: no reload, the video keeps its position.
  const lq = document.querySelector("form.lq");
  if (lq && client) {
    lq.addEventListener("submit", async (e) => {
      e.preventDefault();
      const field = lq.querySelector("textarea[name=learning_question]");
      const note = lq.querySelector(".lq-status");
      if (note) note.textContent = "";
      const saved = await client.saveTexts({learning_question: field.value});
      if (note) note.textContent = saved === undefined ? (status ? status.textContent : words.failed) : words.saved;
    });
  }

  function level() {
    const chosen = document.querySelector("input[name=level]:checked");
    return chosen ? chosen.value : "content";
  }

  async function code(kind, arg, at) {
    const body = {t: Math.round((at === undefined ? video.currentTime : at) * 1000) / 1000, kind};
    if (kind === "question") body.category = parseInt(arg, 10);
    if (kind === "feedback") {
      body.valence = arg;
      body.level = level();
      const flag = document.getElementById("progress-flag");
      body.progress = !!(flag && flag.checked);
    }
    if ((await client.addCode(body)) !== undefined) await refresh();
  }

  // A 360° recording: the sphere shows the video once it is ready; a clip
  // keeps where it looked at its in point.
  let sphere = null;
  let clipView = null;

  let clipIn = null, clipOut = null;
  function showRange() {
    const el = document.getElementById("clip-range");
    const at = (t) => (t === null ? "–" : formatTime(t));
    if (el) el.textContent = at(clipIn) + " → " + at(clipOut);
  }
  function mark(which) {
    if (which === "in") { clipIn = video.currentTime; clipView = sphere ? sphere.view() : null; }
    else clipOut = video.currentTime;
    showRange();
  }
  async function saveClip(kind) {
    if (clipIn === null || clipOut === null || clipOut <= clipIn) { say(words.needinout); return; }
    const clip = {"in": clipIn, out: clipOut, kind};
    if (clipView) clip.view = clipView;
    if ((await client.addClip(clip)) === undefined) return;
    clipIn = clipOut = null;
    clipView = null;
    showRange();
    await refresh();
  }

  function setLevel(value) {
    const el = document.querySelector("input[name=level][value=" + value + "]");
    if (el) el.checked = true;
  }
  function toggleProgress() {
    const flag = document.getElementById("progress-flag");
    if (flag) flag.checked = !flag.checked;
  }

  const actions = {
    toggle: () => transport.toggle(),
    seek: (seconds) => transport.seekBy(parseFloat(seconds)),
    frame: (frames) => transport.step(parseInt(frames, 10)),
    rate: (r) => transport.rate(parseFloat(r)),
  };
  if (client) {
    Object.assign(actions, {code, level: setLevel, progress: toggleProgress, mark, clip: saveClip});
  }
  // Talk: the coach corrects who speaks in the segment under the playhead,
  // and codes the moments that sound like a question and its answer.
  const strip = document.querySelector("#talk-strip svg");
  const suggestionList = document.getElementById("suggestions");
  let talk = null;
  const NEAR = "#1f77b4", FAR = "#ff7f0e";

  function showTalk(view) {
    if (!view || view.state !== "done") return;
    talk = view;
    if (strip) {
      const bySegment = new Map(view.segments.map((seg) => [seg.start_s.toFixed(3), seg]));
      strip.querySelectorAll("rect[data-start]").forEach((rect) => {
        const seg = bySegment.get(parseFloat(rect.dataset.start).toFixed(3));
        if (!seg) return;
        rect.setAttribute("class", "talk-" + seg.voice + (seg.corrected ? " corrected" : ""));
        rect.setAttribute("y", seg.voice === "near" ? "4" : "20");
        rect.setAttribute("fill", seg.voice === "near" ? NEAR : FAR);
      });
    }
    if (suggestionList) {
      suggestionList.replaceChildren(...(view.suggestions || []).map((s) => {
        const li = document.createElement("li");
        li.dataset.t = String(s.t);
        const at = document.createElement("button");
        at.type = "button";
        at.className = "small link";
        at.textContent = formatTime(s.t);
        at.addEventListener("click", () => transport.seekTo(Math.max(0, s.t - 3)));
        li.append(at, " · " + words.answer + " " + new Intl.NumberFormat(document.documentElement.lang || "nl", {minimumFractionDigits: 1, maximumFractionDigits: 1}).format(s.answer_s) + " s ");
        ["1", "2", "3"].forEach((category) => {
          const b = document.createElement("button");
          b.type = "button";
          b.className = "small";
          b.textContent = words.question + " " + category;
          b.addEventListener("click", async () => { await code("question", category, s.t); showTalk(await client.talk()); });
          li.append(b);
        });
        return li;
      }));
    }
  }

  async function correctVoice(voice) {
    if (!talk) return;
    const t = video.currentTime;
    const seg = talk.segments.find((s) => s.start_s <= t && t < s.end_s);
    if (!seg) { say(words.nosegment); return; }
    const view = await client.correctVoice({start_s: seg.start_s, voice: voice === "auto" ? null : voice});
    if (view !== undefined) showTalk(view);
  }

  function nextSuggestion() {
    if (!talk) { say(words.notalk); return; }
    const next = (talk.suggestions || []).find((s) => s.t - 3 > video.currentTime + 0.5);
    if (!next) { say(words.nomoresuggestions); return; }
    transport.seekTo(Math.max(0, next.t - 3));
    if (video.paused) transport.toggle();
  }

  if (client) {
    Object.assign(actions, {voice: correctVoice, suggest: nextSuggestion});
    if (strip) client.talk().then(showTalk);
  }
  const run = createDispatcher(actions);
  bindButtons(root, run);
  bindKeys(document, readKeymap(), run);

  attachPlaylist(video, {src: root.dataset.playlist, live, hlsUrl: root.dataset.hls, onError: showError, words});
  const span = live ? null : spanFromHash(location.hash);
  if (span) transport.playSpan(span);
  draw();
  const loaded = refresh();
  const sphereBox = document.getElementById("sphere");
  if (root.dataset.sphere && sphereBox) {
    // After the playlist is attached: the viewer waits for the video's metadata.
    createSphere({container: sphereBox, video, base: root.dataset.sphere}).then(async (ready) => {
      sphere = ready;
      Object.assign(actions, lookActions(sphere));
      root.classList.add("spherical-ready");
      await loaded;
      if (span) showClipView(span);
    }, (error) => showError(words.nosphere + " (" + (error && error.message ? error.message : error) + ")"));
  }

  // Playing a clip turns the view where the clip looks; the coach can look
  // elsewhere and keep that direction for the clip.
  function showClipView(at) {
    const clip = marks.clips.find((k) => Math.abs(k["in"] - at.from) < 0.002 && Math.abs(k.out - at.to) < 0.002);
    const keep = document.getElementById("keep-view");
    if (!clip) return;
    if (clip.view) sphere.look(clip.view);
    if (keep && client) {
      keep.hidden = false;
      keep.onclick = async () => {
        if ((await client.updateClip(clip.id, {view: sphere.view()})) !== undefined) await refresh();
      };
    }
  }
}

const root = document.getElementById("player");
const video = document.getElementById("video");
if (root && video) start(root, video);
