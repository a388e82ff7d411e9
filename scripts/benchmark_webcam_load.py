"""The webcam loop on a loaded machine: milliseconds of classification per face while two
busy processes compete for the two cores, against the idle-machine benchmark
(``data/benchmarks/realtime.json``, ``end_to_end.mediapipe.classify_ms``).

    python scripts/benchmark_webcam_load.py       # writes data/benchmarks/webcam_load.json

The video is 150 frames of the packaged Grace Hopper portrait moving across a 640×480 frame
(written to a temporary file), read through ``realtime.run`` exactly as ``webcam --video``.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def write_video(path: Path, frames: int = 150) -> None:
    import cv2

    from fer_utils.sample import sample_photos

    face = cv2.resize(sample_photos()["grace_hopper"], (384, 328))
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (640, 480))
    for i in range(frames):
        frame = np.zeros((480, 640, 3), np.uint8)
        x = 20 + i % 100
        frame[100:428, x:x + 384] = face
        out.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    out.release()


def main() -> None:
    import fer_utils  # noqa: F401
    from fer_utils import bench, realtime
    from fer_utils.predict import EmotionRecognizer

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "hopper.mp4"
        write_video(video)
        for load in (0, 2):
            burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                       for _ in range(load)]
            try:
                rec = EmotionRecognizer(tile=False)
                stats = realtime.run(rec, video=str(video), show=False)
                rec.close()
            finally:
                for b in burners:
                    b.kill()
            per_face = stats["classify_ms"] * stats["frames"] / max(1, stats["faces"])
            rows[f"{load} busy processes"] = {**stats, "classify_ms_per_face": round(per_face, 3)}
            print(load, rows[f"{load} busy processes"], flush=True)
    idle = (bench.load("realtime") or {}).get("end_to_end", {}).get("mediapipe", {})
    print("written to", bench.save("webcam_load", {"runs": rows,
                                                   "benchmark_classify_ms": idle.get("classify_ms")}))


if __name__ == "__main__":
    main()
