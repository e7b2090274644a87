// Attach the recording's HLS playlist to the <video>: the browser's own HLS
// where it has it, hls.js (loaded from the kit on demand) where it has not.
import {whenUnlocked} from "../reunlock.js";
import {playQuietly} from "./transport.js";

const HLS_TYPE = "application/vnd.apple.mpegurl";
const LIVE_RETRIES = 5;

function delay(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

function countSegments(text) { return (text.match(/#EXTINF/g) || []).length; }

// A live (EVENT) playlist starts empty: wait until a few seconds are sealed,
// since a player given no segment at all may give up for good.
async function whenPlayable(src, live) {
  for (;;) {
    let text;
    try {
      const response = await fetch(src, {credentials: "same-origin"});
      text = await response.text();
    } catch (_unreachable) {
      await delay(2000);
      continue;
    }
    if (!live || countSegments(text) >= 2) return;
    await delay(1000);
  }
}

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error("cannot load " + url));
    document.head.appendChild(script);
  });
}

// True when the kit no longer has this page's session unlocked (a segment then
// answers 401, which the browser's own player reports as a media error).
async function sessionGone() {
  if (!document.body.dataset.person) return false;
  try {
    const response = await fetch("/api/session", {credentials: "same-origin"});
    return !(await response.json()).unlocked;
  } catch (_offline) {
    return false;
  }
}

function attachNative(video, src, live) {
  video.dataset.engine = "native";
  video.src = src;
  // The session ended under the video: unlock in place, then load again from the same place.
  video.addEventListener("error", async () => {
    const at = video.currentTime;
    if (!(await sessionGone())) return;
    await whenUnlocked();
    video.addEventListener("loadedmetadata", () => { video.currentTime = at; }, {once: true});
    video.src = src;
  });
  if (!live) return;
  let attempts = 0;
  video.addEventListener("error", function retry() {
    if (attempts++ >= LIVE_RETRIES) { video.removeEventListener("error", retry); return; }
    setTimeout(() => { video.src = src; playQuietly(video); }, 2000);
  });
  playQuietly(video);
}

async function attachHlsJs(video, src, live, hlsUrl, onError, words) {
  try {
    await loadScript(hlsUrl);
  } catch (_missing) {
    onError(words.nohls);
    return;
  }
  const Hls = window.Hls;  // the global the hls.js bundle defines
  if (!Hls || !Hls.isSupported()) { onError(words.nohls); return; }
  const hls = new Hls({enableWorker: true, lowLatencyMode: false, liveSyncDurationCount: 2, maxBufferLength: 20});
  video.dataset.engine = "hls.js";
  let unlocking = false;
  hls.on(Hls.Events.ERROR, async (_event, data) => {
    // The session ended under the video: unlock in place, then load on from where it stopped.
    if (data.response && data.response.code === 401) {
      if (unlocking) return;
      unlocking = true;
      await whenUnlocked();
      unlocking = false;
      hls.startLoad(video.currentTime);
      return;
    }
    if (!data.fatal) return;
    video.dataset.error = data.type + ":" + data.details;
    onError(words.nohls + " (" + data.details + ")");
  });
  hls.loadSource(src);
  hls.attachMedia(video);
  if (live) hls.on(Hls.Events.MANIFEST_PARSED, () => { playQuietly(video); });
}

// Resolves once the video has a source; never rejects (failures go to onError).
export async function attachPlaylist(video, {src, live, hlsUrl, onError, words}) {
  try {
    await whenPlayable(src, live);
    if (video.canPlayType(HLS_TYPE)) attachNative(video, src, live);
    else await attachHlsJs(video, src, live, hlsUrl, onError, words);
  } catch (_error) {
    onError(words.nohls);
  }
}
