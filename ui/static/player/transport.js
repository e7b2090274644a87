// Transport: play/pause, seeking, frame steps and playback speed on the <video>.

// play() rejects when autoplay is refused or a pause or a new source
// interrupts it; the person just presses play again, so nothing is reported.
export function playQuietly(video) {
  const started = video.play();
  return started && typeof started.catch === "function" ? started.catch(() => undefined) : Promise.resolve();
}

// "#t=12.5,30" (a W3C media fragment: from, optional to, in seconds) is how a
// clip link opens the player at that clip; anything else is no span.
export function spanFromHash(hash) {
  const m = /^#t=(\d{1,6}(?:\.\d{1,3})?)(?:,(\d{1,6}(?:\.\d{1,3})?))?$/.exec(hash || "");
  if (!m) return null;
  const from = parseFloat(m[1]);
  const to = m[2] === undefined ? null : parseFloat(m[2]);
  return to !== null && to <= from ? null : {from, to};
}

export function createTransport(video, {fps = 30, knownDuration = 0} = {}) {
  function duration() {
    if (isFinite(video.duration) && video.duration > 0) return video.duration;
    if (video.seekable && video.seekable.length) return video.seekable.end(video.seekable.length - 1);
    return knownDuration || 1;
  }
  function seekTo(t) { video.currentTime = Math.max(0, Math.min(duration(), t)); }
  function seekBy(seconds) { seekTo(video.currentTime + seconds); }
  function step(frames) { video.pause(); seekTo(video.currentTime + frames / fps); }
  function rate(r) { video.playbackRate = r; }
  // Play pressed before the source is attached (hls.js still loading on a slow
  // connection) plays once it is; a second press before then takes it back.
  let pending = null;
  function toggle() {
    if (pending) { video.removeEventListener("loadedmetadata", pending); pending = null; return; }
    if (!video.paused) { video.pause(); return; }
    if (!video.currentSrc) {
      pending = () => { pending = null; playQuietly(video); };
      video.addEventListener("loadedmetadata", pending, {once: true});
      return;
    }
    playQuietly(video);
  }
  // Plays one span and pauses at its end, like a clip; seeking elsewhere ends
  // the span, so the person can go on watching the lesson from there.
  function playSpan({from, to}) {
    const begin = () => {
      seekTo(from);
      if (to !== null) {
        const watch = () => {
          if (video.currentTime < from - 1 || video.currentTime > to + 1) { forget(); return; }
          if (video.currentTime >= to) { video.pause(); forget(); }
        };
        const forget = () => video.removeEventListener("timeupdate", watch);
        video.addEventListener("timeupdate", watch);
      }
      playQuietly(video);
    };
    if (video.readyState >= 1) begin(); else video.addEventListener("loadedmetadata", begin, {once: true});
  }
  return {duration, seekTo, seekBy, step, rate, toggle, playSpan};
}
