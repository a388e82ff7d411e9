"""Face detection on composed group photos: faces found and milliseconds per image for Haar,
MediaPipe on the whole image, and MediaPipe with tiles (the default of ``predict``).

    python scripts/benchmark_detection.py          # writes data/benchmarks/detection.json

The photos are :func:`fer_utils.sample.group_photo` compositions of the packaged portraits
(a row of five at 640×150, rows of three, a 2×2 and a 3×4 grid) and one webcam-sized portrait.
Run it on an otherwise idle machine.
"""
from __future__ import annotations

import time

import fer_utils  # noqa: F401
from fer_utils import bench, faces, sample

LAYOUTS = {"row of 5, 640×150": ((1, 5), (128, 150)), "row of 3, 900×300": ((1, 3), (300, 300)),
           "2×2 grid, 600×600": ((2, 2), (300, 300)), "3×4 grid, 640×540": ((3, 4), (160, 180)),
           "one face, 480×640": ((1, 1), (480, 640))}
DETECTORS = {"haar": ("haar", {}), "mediapipe, whole image": ("mediapipe", {"tile": False}),
             "mediapipe, tiled": ("mediapipe", {"tile": True})}


def main() -> None:
    rows = []
    for label, (layout, cell) in LAYOUTS.items():
        image, n = sample.group_photo(*layout, cell=cell)
        for name, (kind, kwargs) in DETECTORS.items():
            with faces.FaceDetector(kind, **kwargs) as det:
                found = len(det(image))
                times = []
                for _ in range(20):
                    t = time.perf_counter()
                    det(image)
                    times.append(time.perf_counter() - t)
            times.sort()
            rows.append({"photo": label, "faces": n, "detector": name, "found": found,
                         "ms": round(times[len(times) // 2] * 1000, 1)})
            print(rows[-1], flush=True)
    print("written to", bench.save("detection", {"runs": rows}))


if __name__ == "__main__":
    main()
