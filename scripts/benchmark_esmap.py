"""Benchmark for the ES-MAP chapter: landmarks, distance maps, and the memory of the pipeline.

    python scripts/benchmark_esmap.py        # writes data/benchmarks/esmap.json

Measures, on an otherwise idle machine and on the packaged portraits plus procedural faces
(no dataset needed, so anyone can re-run it):

* Face Mesh landmarks per second on 48×48 faces (FER-2013's size) and on 512×512 photos;
* the reference double loop vs the vectorised distance matrix (one face; batched), and
  ES-MAPs per second for each reduction (full, pooled, reference rendering);
* peak memory of training input made on the fly (:func:`fer_utils.esmap.tf_dataset`) vs
  materialising the same full maps, each in a fresh process.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

import fer_utils  # noqa: F401  (the oneDNN choice, on, before TensorFlow loads)
from fer_utils import bench, esmap, landmarks
from fer_utils.sample import make_sample, sample_photos


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_child(mode: str, n: int) -> None:
    """Run in a fresh process: build n full maps on the fly or at once; print peak RSS."""
    rng = np.random.default_rng(0)
    pts = (rng.normal(0.5, 0.1, (1, 468, 3)) + rng.normal(0, 0.003, (n, 468, 3))).astype(
        np.float32)
    labels = np.arange(n) % 7
    base = esmap.fit_baseline(pts[:50], np.full(50, 6))
    import tensorflow as tf  # noqa: F401  (same libraries loaded in both modes)

    before = _peak_mb()
    if mode == "on-the-fly":
        for _x, _ in esmap.tf_dataset(pts, labels, base, reduce="full", batch_size=32):
            pass
    else:
        maps = esmap.esmaps(pts, base, reduce="full")
        assert maps.shape == (n, 468, 468)
    print(json.dumps({"mode": mode, "n": n, "baseline_mb": round(before),
                      "peak_mb": round(_peak_mb())}))


def protobuf_loop_ms(points: np.ndarray) -> float:
    """The reference double loop as the reference code runs it: over MediaPipe's landmark
    objects (``results.multi_face_landmarks[0].landmark``), reading ``.x``, ``.y``, ``.z``
    of both points for every pair. Attribute access on these protobuf messages is what makes
    it several times slower than the same loop over Python floats
    (:func:`fer_utils.esmap.reference_distances`)."""
    import math

    from mediapipe.framework.formats import landmark_pb2

    face = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in np.asarray(points, float):
        face.landmark.add(x=x, y=y, z=z)
    lms = face.landmark
    t = time.perf_counter()
    d = [[0.0] * len(lms) for _ in range(len(lms))]
    for i in range(len(lms)):
        for j in range(len(lms)):
            d[i][j] = math.sqrt((lms[i].x - lms[j].x) ** 2 + (lms[i].y - lms[j].y) ** 2
                                + (lms[i].z - lms[j].z) ** 2)
    top = max(max(row) for row in d)
    np.array(d) / top
    return 1000 * (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=300, help="48×48 faces to time Face Mesh on")
    parser.add_argument("--memory-n", type=int, default=2000,
                        help="maps for the memory comparison (2000 full maps = 1.75 GB)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _memory_child(args.child[0], int(args.child[1]))

    out: dict = {}
    small = make_sample(sizes={"Training": args.faces, "PublicTest": 0, "PrivateTest": 0}).images
    photos = list(sample_photos().values())
    with landmarks.FaceMesh() as mesh:
        t = time.perf_counter()
        ls = landmarks.extract_batch(small, mesh, progress=False)
        per48 = (time.perf_counter() - t) / len(small)
        per512 = bench.per_call_ms(lambda: [mesh(p) for p in photos], n=20) / len(photos)
    out["landmarks"] = {"ms_per_face_48px": round(1000 * per48, 2),
                        "faces_per_s_48px": round(1 / per48, 1),
                        "ms_per_face_512px": round(per512, 2),
                        "detection_rate_sample": round(ls.detection_rate, 4)}
    print(out["landmarks"], flush=True)

    pts = ls.points[ls.found]
    t = time.perf_counter()
    esmap.reference_distances(pts[0])
    loop_ms = 1000 * (time.perf_counter() - t)
    proto_ms = protobuf_loop_ms(pts[0])
    one_ms = bench.per_call_ms(lambda: esmap.pairwise_distances(pts[0]), n=200)
    batch = pts[:256]
    batch_ms = bench.per_call_ms(lambda: esmap.pairwise_distances(batch), n=5) / len(batch)
    out["distances"] = {"reference_loop_ms": round(loop_ms, 1),
                        "reference_loop_over_mediapipe_landmarks_ms": round(proto_ms, 1),
                        "vectorised_ms_one_face": round(one_ms, 3),
                        "vectorised_ms_per_face_batched": round(batch_ms, 3),
                        "speed_up_one_face": round(loop_ms / one_ms),
                        "speed_up_batched": round(loop_ms / batch_ms),
                        "speed_up_vs_mediapipe_loop_one_face": round(proto_ms / one_ms),
                        "speed_up_vs_mediapipe_loop_batched": round(proto_ms / batch_ms)}
    print(out["distances"], flush=True)

    base = esmap.fit_baseline(pts, np.full(len(pts), 6))
    out["esmaps"] = {}
    for reduce in esmap.REDUCTIONS:
        ms = bench.per_call_ms(lambda: esmap.esmaps(batch, base, reduce=reduce), n=3) / len(batch)
        one = esmap.esmaps(batch[:1], base, reduce=reduce)
        out["esmaps"][reduce] = {"ms_per_face": round(ms, 3), "maps_per_s": round(1000 / ms),
                                 "bytes_per_map": int(one[0].nbytes)}
    print(out["esmaps"], flush=True)

    out["memory"] = {}
    for mode in ("on-the-fly", "materialised"):
        res = subprocess.run([sys.executable, __file__, "--child", mode, str(args.memory_n)],
                             capture_output=True, text=True, check=True)
        out["memory"][mode] = json.loads(res.stdout.strip().splitlines()[-1])
    print(out["memory"], flush=True)

    print("wrote", bench.save("esmap", out).name)


if __name__ == "__main__":
    main()
