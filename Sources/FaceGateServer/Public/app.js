// FaceGate browser client: camera → JPEG frames over a WebSocket → prompts, progress, result.
// Frame message: 8-byte big-endian float64 capture time (ms, performance.now()) followed by the JPEG bytes.
"use strict";

(function () {
  // Frames per second sent. 15: the detectors work from 10 fps, but single blinks pass 98 % at 15 fps against 85–90 %
  // at 10–12 (synthetic browser delivery, docs/active-liveness.md "Frame rates and motion"); 15 leaves a margin for
  // frames a busy browser or link loses (BrowserTests: 11.4–15.0 fps reach the detectors from a 30 fps camera).
  const FPS = 15;
  const MAX_WIDTH = 640;        // longer frame side sent to the server
  const JPEG_QUALITY = 0.75;
  const MAX_BUFFERED = 512 * 1024; // skip a frame when the socket still holds this many unsent bytes

  const $ = (id) => document.getElementById(id);
  const page = document.body.dataset.page;
  const video = $("preview"), promptEl = $("prompt"), guidanceEl = $("guidance"), progressEl = $("progress");
  const stepsEl = $("steps"), resultEl = $("result"), form = $("setup"), startBtn = $("start"), againBtn = $("again");
  const stage = document.querySelector(".stage");
  const params = new URLSearchParams(location.hash.slice(1));
  let stream = null, socket = null, timer = null, running = false;
  let lastSentT = -Infinity, nextDueT = -Infinity, sendChain = Promise.resolve();
  const canvas = document.createElement("canvas");

  function setPrompt(text) { promptEl.textContent = text; }
  function setGuidance(code, text) { stage.dataset.guidance = code || ""; guidanceEl.textContent = text || ""; }
  function setProgress(p, done, total) {
    progressEl.value = p; progressEl.textContent = Math.round(p * 100) + " %";
    stepsEl.textContent = total ? `(${done} of ${total})` : "";
  }
  function showResult(passed, message) {
    resultEl.hidden = false;
    resultEl.className = "result " + (passed ? "pass" : "fail");
    resultEl.textContent = (passed ? "✓ " : "✗ ") + message;
    document.body.dataset.state = passed ? "passed" : "failed";
    setPrompt(passed ? "Done" : "Not verified");
    if (againBtn) againBtn.hidden = page !== "verify";
    resultEl.setAttribute("tabindex", "-1");
    resultEl.scrollIntoView({ block: "nearest" });
    resultEl.focus({ preventScroll: true });
  }

  async function api(path, body, key) {
    const headers = { "Content-Type": "application/json" };
    if (key) headers["Authorization"] = "Bearer " + key;
    const r = await fetch(path, { method: "POST", headers, body: JSON.stringify(body || {}) });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((j.error && j.error.message) || ("HTTP " + r.status));
    return j;
  }

  async function openCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("This browser cannot use the camera here (a secure https:// page is needed).");
    }
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    video.srcObject = stream;
    await video.play().catch(() => {});
    await new Promise((res) => { if (video.videoWidth) res(); else video.onloadedmetadata = () => res(); });
  }

  function stopAll() {
    running = false;
    if (timer) { clearInterval(timer); timer = null; }
    lastSentT = -Infinity; nextDueT = -Infinity;
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
  }

  // Sends the frame now in the <video> element, stamped with its capture time `t` (ms, performance.now() clock).
  // Frames go out in capture order (the server refuses out-of-order timestamps): each send waits for the previous.
  function sendFrame(t) {
    if (!running || !socket || socket.readyState !== WebSocket.OPEN || !video.videoWidth) return;
    if (socket.bufferedAmount > MAX_BUFFERED) return;
    const scale = Math.min(1, MAX_WIDTH / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);  // raw (unmirrored) frame
    const blobDone = new Promise((res) => canvas.toBlob(res, "image/jpeg", JPEG_QUALITY));
    sendChain = sendChain.then(async () => {
      const blob = await blobDone;
      if (!blob || !running || socket.readyState !== WebSocket.OPEN || t <= lastSentT) return;
      const jpeg = new Uint8Array(await blob.arrayBuffer());
      const msg = new Uint8Array(8 + jpeg.length);
      new DataView(msg.buffer).setFloat64(0, t, false);
      msg.set(jpeg, 8);
      lastSentT = t;
      socket.send(msg);
    }).catch(() => {});
  }

  // One camera frame at a time: with requestVideoFrameCallback every *new* camera frame is seen once, with its own
  // capture time, and sent when FPS allows (a timer would re-send a frame twice or skip one, and stamp it with
  // the timer's time instead of the camera's). Frames are picked on a 1/FPS schedule with 10 ms of slack for
  // camera clock jitter, so a 30 fps camera gives every 2nd frame and a 25 fps one averages FPS; after a stall the
  // schedule restarts instead of bursting.
  function frameDue(t) {
    if (t < nextDueT - 10) return false;
    nextDueT = nextDueT === -Infinity ? t + 1000 / FPS : Math.max(nextDueT + 1000 / FPS, t + 500 / FPS);
    return true;
  }
  // Browsers without the callback, or a page whose video is not being rendered (callbacks stop), fall back to a
  // timer after 0.5 s without a camera frame.
  function startCapture() {
    let lastCallback = -Infinity;
    if (typeof video.requestVideoFrameCallback === "function") {
      const onFrame = (now, meta) => {
        if (!running) return;
        lastCallback = performance.now();
        const t = (meta && typeof meta.captureTime === "number" && meta.captureTime > 0) ? meta.captureTime : now;
        if (frameDue(t)) sendFrame(t);
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
      lastCallback = performance.now();
    }
    timer = setInterval(() => {
      const t = performance.now();
      if (t - lastCallback > 500 && frameDue(t)) sendFrame(t);
    }, 1000 / FPS);
  }

  function run(websocketURL) {
    return new Promise((resolve) => {
      socket = new WebSocket(websocketURL);
      socket.binaryType = "arraybuffer";
      let done = false;
      socket.onopen = () => { running = true; startCapture(); };
      socket.onmessage = (ev) => {
        let m; try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m.type === "ready") { setProgress(0, 0, m.challenges); setPrompt("Look at the camera and hold still"); }
        else if (m.type === "frame") {
          setGuidance(m.guidance, m.guidance === "ok" ? "" : m.message);
          if (m.prompt) setPrompt(m.prompt.text);
          else if (m.guidance !== "ok") setPrompt(m.message);
          setProgress(m.progress, m.completed, m.total);
        } else if (m.type === "result") {
          done = true; stopAll(); showResult(m.passed, m.message); resolve(m.passed);
        } else if (m.type === "error") {
          done = true; stopAll(); showResult(false, m.message); resolve(false);
        }
      };
      socket.onclose = (ev) => {
        stopAll();
        if (!done) { showResult(false, "Connection closed (" + ev.code + ") — start again"); resolve(false); }
      };
      socket.onerror = () => {};
    });
  }

  async function start(getSession) {
    resultEl.hidden = true; document.body.dataset.state = "running";
    startBtn.disabled = true;
    try {
      setPrompt("Allow the camera when asked…");
      await openCamera();
      const s = await getSession();
      setPrompt("Connecting…");
      await run(s.websocket);
    } catch (e) {
      stopAll(); showResult(false, e.message || String(e));
    } finally {
      startBtn.disabled = false;
    }
  }

  if (page === "verify") {
    const given = params.get("session") && params.get("token");
    if (given) {
      form.querySelector(".field").hidden = true;
      $("keybox").hidden = true;
    }
    const session = () => {
      if (given) {
        const proto = location.protocol === "https:" ? "wss://" : "ws://";
        return Promise.resolve({ websocket: `${proto}${location.host}/v1/sessions/${encodeURIComponent(params.get("session"))}/stream?token=${encodeURIComponent(params.get("token"))}` });
      }
      const user = $("user").value.trim();
      return api("/v1/sessions", user ? { user } : {}, $("apikey").value.trim());
    };
    form.addEventListener("submit", (e) => { e.preventDefault(); start(session); });
    againBtn.addEventListener("click", () => { location.hash = ""; location.reload(); });
    if (given && params.get("autostart") === "1") start(session);
  } else if (page === "enroll") {
    const link = params.get("link");
    const who = $("who");
    if (!link) { setPrompt("This page needs an enrollment link."); who.textContent = "Ask your administrator for a link."; }
    else {
      fetch("/v1/enrollments/" + encodeURIComponent(link)).then(async (r) => {
        const j = await r.json().catch(() => ({}));
        if (!r.ok) { setPrompt("Link not usable"); who.textContent = (j.error && j.error.message) || "This link cannot be used."; return; }
        who.textContent = "Enrolling: " + j.user;
        setPrompt("Press “Start enrollment” and allow the camera.");
        startBtn.disabled = false;
        if (params.get("autostart") === "1") start(() => api("/v1/enrollments/" + encodeURIComponent(link) + "/sessions", {}));
      });
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        start(() => api("/v1/enrollments/" + encodeURIComponent(link) + "/sessions", {}));
      });
    }
  }
})();
