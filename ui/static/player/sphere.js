// The 360° view: Photo Sphere Viewer paints the <video> that hls.js feeds
// onto the inside of a sphere, and the person looks around it by dragging,
// pinching, the mouse wheel or the view keys. The <video> stays the one the
// transport, coding keys and clip marks work with; it is only kept out of
// sight. Views are in degrees: yaw (compass direction, 0 = the camera's
// front), pitch (up from the horizon) and fov (horizontal field of view),
// the same numbers a clip stores and the kit's flat export uses.
const STEP = 15;  // degrees per key press
const MIN_FOV = 30, MAX_FOV = 100;
export const FRONT = {yaw: 0, pitch: 0, fov: 90};

const rad = (deg) => deg * Math.PI / 180;
const deg = (r) => r * 180 / Math.PI;
const round = (x) => Math.round(x * 1000) / 1000;
// PSV's yaw runs 0..2π; a stored view runs -180..180.
const signed = (d) => ((d + 540) % 360) - 180;

export async function createSphere({container, video, base}) {
  const [{Viewer}, {EquirectangularVideoAdapter}, {VideoPlugin}] = await Promise.all([
    import(base + "core.js"),
    import(base + "equirectangular-video-adapter.js"),
    import(base + "video-plugin.js"),
  ]);
  const viewer = new Viewer({
    container,
    adapter: [EquirectangularVideoAdapter, {autoplay: false, muted: video.muted}],
    panorama: {source: video},
    plugins: [[VideoPlugin, {progressbar: false, bigbutton: false}]],
    navbar: false,
    loadingTxt: "",
    minFov: MIN_FOV,
    maxFov: MAX_FOV,
    keyboard: false,  // the page's key map owns the keys (ui/keymap.py)
    mousewheelCtrlKey: false,
    touchmoveTwoFingers: false,
  });
  const ready = new Promise((resolve, reject) => {
    viewer.addEventListener("ready", resolve, {once: true});
    viewer.addEventListener("panorama-error", (e) => reject(e.error || new Error("panorama")), {once: true});
  });
  // PSV's video adapter waits for "loadedmetadata", but hls.js may have
  // loaded the metadata before the viewer listened: say it again until the
  // viewer has the picture (a listener that already ran is not run twice).
  let nudges = 0;
  const nudge = setInterval(() => {
    if (video.readyState >= 1 && nudges++ < 50) video.dispatchEvent(new Event("loadedmetadata"));
  }, 200);
  try { await ready; } finally { clearInterval(nudge); }
  // The sphere paints a frame only when the video presents one: a paused
  // video shows its current picture after a seek to where it already is.
  const showFrame = () => { if (video.paused) video.currentTime = video.currentTime; };
  if (video.readyState >= 2) showFrame(); else video.addEventListener("loadeddata", showFrame, {once: true});

  function view() {
    const {yaw, pitch} = viewer.getPosition();
    return {yaw: round(signed(deg(yaw))), pitch: round(deg(pitch)), fov: round(viewer.state.hFov)};
  }

  function look(v) {
    if (!v) return;
    viewer.stopAll();  // a drag's inertia must not carry on past a chosen view
    const fov = Math.min(MAX_FOV, Math.max(MIN_FOV, v.fov || FRONT.fov));
    viewer.zoom(viewer.dataHelper.fovToZoomLevel(viewer.dataHelper.hFovToVFov(fov)));
    viewer.rotate({yaw: rad(v.yaw || 0), pitch: rad(v.pitch || 0)});
    container.dataset.view = JSON.stringify(view());
  }

  function turn(dYaw, dPitch) {
    viewer.stopAll();
    const now = view();
    look({yaw: signed(now.yaw + dYaw), pitch: Math.max(-90, Math.min(90, now.pitch + dPitch)), fov: now.fov});
  }

  // The current direction, readable by tests and by the person's tools.
  viewer.addEventListener("position-updated", () => { container.dataset.view = JSON.stringify(view()); });
  look(FRONT);
  return {view, look, turn, reset: () => look(FRONT), viewer};
}

// The view actions for the page's dispatcher ("look:left", … "look:reset").
export function lookActions(sphere) {
  const moves = {left: [-STEP, 0], right: [STEP, 0], up: [0, STEP], down: [0, -STEP]};
  return {
    look: (where) => {
      if (where === "reset") sphere.reset();
      else if (moves[where]) sphere.turn(...moves[where]);
    },
  };
}
