// Transport: play/pause, seeking, frame steps and playback speed on the <video>.

// play() rejects when autoplay is refused or a pause or a new source
// interrupts it; the person just presses play again, so nothing is reported.
export function playQuietly(video) {
  const started = video.play();
  return started && typeof started.catch === "function" ? started.catch(() => undefined) : Promise.resolve();
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
  return {duration, seekTo, seekBy, step, rate, toggle};
}
