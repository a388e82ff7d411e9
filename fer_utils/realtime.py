"""The real-time loop: frames from a camera or a video → faces → smoothed emotions → display/file.

:func:`run` drives ``python -m fer_utils webcam``. Per frame it detects faces, classifies all
of them in one batch, and smooths each face's prediction over its last ``window`` frames. The
source demo (Baral et al.) took the most common label of the last 10 frames for its single face;
here every face is tracked (boxes matched across frames by overlap) and its class
probabilities are averaged, which is steadier than a vote and gives a probability to show.

Cameras: ``cv2.VideoCapture(N)`` reaches a local camera only. In Colab the camera belongs to
the browser, not to the machine running Python: :func:`colab_photo` captures a frame through
JavaScript instead (Chapter 4 shows it).
"""
from __future__ import annotations

import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_utils.predict import FacePrediction
from fer_utils.sample import sample_photos
from fer_utils.viz import draw_predictions


class CameraError(RuntimeError):
    """No camera, an unreadable video, or no screen to show the window on."""


def iou(a, b) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Track:
    box: tuple
    history: deque
    last_seen: int


@dataclass
class Smoother:
    """Per-face smoothing of class probabilities over the last ``window`` frames.

    Faces are matched to tracks by box overlap (IoU ≥ ``min_iou``); a track unseen for
    ``window`` frames is dropped. ``mode="mean"`` averages probabilities; ``mode="vote"``
    keeps the most frequent label (the source demo's rule) with its mean probability.
    """

    window: int = 10
    min_iou: float = 0.3
    mode: str = "mean"
    tracks: list = field(default_factory=list)
    frame: int = 0

    def __post_init__(self) -> None:
        if self.mode not in ("mean", "vote"):
            raise ValueError(f"mode must be 'mean' or 'vote', not {self.mode!r}")
        if self.window < 1:
            raise ValueError("window must be at least 1")

    def update(self, predictions) -> list:
        """Smoothed copies of this frame's :class:`~fer_utils.predict.FacePrediction` list."""

        self.frame += 1
        out, used = [], set()
        for p in predictions:
            best, best_iou = None, self.min_iou
            for k, t in enumerate(self.tracks):
                v = iou(p.box, t.box)
                if k not in used and v >= best_iou:
                    best, best_iou = k, v
            if best is None:
                self.tracks.append(_Track(p.box, deque(maxlen=self.window), self.frame))
                best = len(self.tracks) - 1
            used.add(best)
            t = self.tracks[best]
            t.box, t.last_seen = p.box, self.frame
            names = list(p.probabilities)
            t.history.append(np.array([p.probabilities[k] for k in names]))
            h = np.stack(t.history)
            mean = h.mean(axis=0)
            label = None
            if self.mode == "vote":
                label = names[int(np.bincount(h.argmax(axis=1), minlength=len(names)).argmax())]
            out.append(FacePrediction(p.box, dict(zip(names, map(float, mean))), p.crop, label))
        self.tracks = [t for t in self.tracks if self.frame - t.last_seen < self.window]
        return out


def open_source(camera: int | None = None, video: str | Path | None = None):
    """An opened ``cv2.VideoCapture`` or a :class:`CameraError` saying what to do."""
    import os

    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")  # no "[ WARN:0@4.4] …": our message says it
    import cv2

    if hasattr(cv2, "setLogLevel"):  # cv2 may have been imported before the variable was set
        cv2.setLogLevel(0)  # silent: a camera that fails is reported by CameraError

    if video is not None:
        video = Path(video)
        if not video.is_file():
            raise CameraError(f"{video}: no such video file")
        cap = cv2.VideoCapture(str(video))
        if not cap.isOpened():
            raise CameraError(f"{video.name}: OpenCV cannot read this video")
        return cap
    index = 0 if camera is None else camera
    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        hint = (" In Colab the camera is in your browser: use fer_utils.realtime.colab_photo() "
                "(Chapter 4)." if "google.colab" in sys.modules else
                " Check that a camera is connected and not used by another program, try "
                "another --camera N, or use --video FILE.")
        raise CameraError(f"camera {index} could not be opened.{hint}")
    return cap


def can_show_window() -> bool:
    """Whether ``cv2.imshow`` can open a window here (a desktop session)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def run(recognizer, *, camera: int | None = None, video: str | Path | None = None,
        out: str | Path | None = None, show: bool = True, window: int = 10,
        max_frames: int | None = None, progress: bool = False, on_frame=None) -> dict:
    """The real-time loop. Returns timing statistics.

    Parameters
    ----------
    recognizer : fer_utils.predict.EmotionRecognizer
    camera, video : a camera index, or a video file (one of them; default camera 0)
    out : path, optional
        Write the annotated frames to this video file (``.mp4``).
    show : bool
        Show a window (press ``q`` or Esc to stop). Needs a desktop session.
    window : int
        Frames to smooth over (0 or 1: no smoothing).
    max_frames : int, optional
        Stop after this many frames.
    on_frame : callable, optional
        Called as ``on_frame(index, predictions)`` with each frame's smoothed predictions
        (e.g. to build a mood summary, :func:`mood_summary`).

    Returns
    -------
    dict
        ``frames``, ``faces``, ``seconds``, ``fps`` (end to end, drawing and writing
        included), and mean milliseconds per frame for ``detect_ms``, ``classify_ms``.
    """
    import cv2

    if show and not can_show_window():
        raise CameraError("no screen to show the window on (no DISPLAY): run with --no-window "
                          "and --out annotated.mp4")
    cap = open_source(camera, video)
    writer = None
    smoother = Smoother(window=max(1, window))
    stats = {"frames": 0, "faces": 0}
    timings = {"detect": 0.0, "classify": 0.0}
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if video is not None else None
    from tqdm.auto import tqdm
    bar = tqdm(total=min(x for x in (total, max_frames) if x) if (total or max_frames) else None,
               unit="frame", disable=not progress)
    t_start = time.perf_counter()
    try:
        while max_frames is None or stats["frames"] < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            preds = recognizer(rgb, timings)
            preds = smoother.update(preds)
            if on_frame is not None:
                on_frame(stats["frames"], preds)
            stats["frames"] += 1
            stats["faces"] += len(preds)
            annotated = cv2.cvtColor(draw_predictions(rgb, preds), cv2.COLOR_RGB2BGR)
            if out is not None:
                if writer is None:
                    writer = _writer(out, annotated.shape, cap.get(cv2.CAP_PROP_FPS) or 30)
                writer.write(annotated)
            if show:
                cv2.imshow("fer_utils webcam (q to quit)", annotated)
                if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    break
            bar.update(1)
    finally:
        bar.close()
        cap.release()
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
    seconds = time.perf_counter() - t_start
    n = max(1, stats["frames"])
    if stats["frames"] == 0:
        raise CameraError("no frame could be read from the " + ("video" if video else "camera"))
    return {"frames": stats["frames"], "faces": stats["faces"], "seconds": round(seconds, 3),
            "fps": round(stats["frames"] / seconds, 1),
            "detect_ms": round(1000 * timings["detect"] / n, 2),
            "classify_ms": round(1000 * timings["classify"] / n, 2)}


def mood_summary(labels, class_names) -> dict[str, float]:
    """Share of observations per emotion (Baral et al.'s "daily mood summary"), in class order."""
    labels = list(labels)
    n = max(1, len(labels))
    return {c: labels.count(c) / n for c in class_names}


def _writer(path, shape, fps: float):
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps),
                             (shape[1], shape[0]))
    if not writer.isOpened():
        raise CameraError(f"{path}: OpenCV cannot write this video (try a .mp4 name)")
    return writer


def make_demo_video(path: str | Path, *, seconds: float = 4.0, fps: int = 25,
                    size: tuple[int, int] = (640, 480)) -> Path:
    """A 640×480 test video from the packaged sample photos (a slow pan and zoom on each).

    Used by the benchmark and the tests: the real-time path can be measured without a camera.
    """
    import cv2

    W, H = size
    frames_per_photo = max(1, int(seconds * fps / 2))
    writer = _writer(path, (H, W, 3), fps)
    for photo in sample_photos().values():
        ph, pw = photo.shape[:2]
        for i in range(frames_per_photo):
            s = 1.0 + 0.15 * i / frames_per_photo  # zoom in slowly
            scale = min(W / pw, H / ph) * s
            img = cv2.resize(photo, (round(pw * scale), round(ph * scale)), interpolation=cv2.INTER_AREA)
            canvas = np.full((H, W, 3), 40, np.uint8)
            y0, x0 = (H - img.shape[0]) // 2, (W - img.shape[1]) // 2
            ys, xs = max(0, y0), max(0, x0)
            ci = img[max(0, -y0):max(0, -y0) + H - ys, max(0, -x0):max(0, -x0) + W - xs]
            canvas[ys:ys + ci.shape[0], xs:xs + ci.shape[1]] = ci
            writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    writer.release()
    return Path(path)


# --------------------------------------------------------------------------------------
# Colab: the camera is in the browser
# --------------------------------------------------------------------------------------

CAPTURE_JS = """
async function ferCapture(quality) {
  const div = document.createElement('div');
  const button = document.createElement('button');
  button.textContent = 'Capture';
  const video = document.createElement('video');
  video.style.display = 'block';
  const stream = await navigator.mediaDevices.getUserMedia({video: true});
  document.body.appendChild(div);
  div.appendChild(video);
  div.appendChild(button);
  video.srcObject = stream;
  await video.play();
  google.colab.output.setIframeHeight(document.documentElement.scrollHeight, true);
  await new Promise((resolve) => button.onclick = resolve);
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  stream.getVideoTracks()[0].stop();
  div.remove();
  return canvas.toDataURL('image/jpeg', quality);
}
"""


def colab_photo(quality: float = 0.9) -> np.ndarray:
    """Take one photo with the browser's camera in Colab; returns RGB ``uint8``.

    The browser asks for permission, shows the live video and a *Capture* button; the frame
    travels to Python as a JPEG data URL. Outside Colab this raises :class:`CameraError`.
    """
    if "google.colab" not in sys.modules:
        raise CameraError("colab_photo works in Google Colab only; elsewhere use "
                          "python -m fer_utils webcam")
    import base64
    import io

    from google.colab.output import eval_js  # type: ignore[import-not-found]
    from IPython.display import Javascript, display
    from PIL import Image

    display(Javascript(CAPTURE_JS))
    data_url = eval_js(f"ferCapture({quality})")
    raw = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))
