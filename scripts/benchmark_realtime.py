"""Benchmark for Chapter 4: is the real-time path real-time on this machine?

    python scripts/benchmark_realtime.py          # writes data/benchmarks/realtime.json

Measures, on an otherwise idle machine:
* classifier latency per face (batch 1, and per face in a batch of 32) for the three back-ends
  (Keras eager call, tf.function, TensorFlow Lite), and with TensorFlow Lite for the first run
  the default model replaced (``predict.FIRST_RUNS["Model 0"]``);
* face detection per 640×480 frame: Haar at the source demo's settings (scale 1.3) and the
  course's (1.1), and MediaPipe on the whole frame (as the webcam loop) and with tiles (as
  ``predict`` on photos);
* end-to-end frames per second of the webcam loop on a 640×480 video made from the sample
  photos (detection, crop, classification, smoothing, drawing; no window, no file).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import fer_utils  # noqa: F401  (the oneDNN choice, on, before TensorFlow loads)
from fer_utils import bench, faces, models, predict, realtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model to time (default: the committed default model, "
                        "else an untrained mini-Xception: same architecture, same cost)")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    try:
        model_path = predict.resolve_model_path(args.model)
        model_name = model_path.parent.name
    except FileNotFoundError:
        tmp = Path(tempfile.mkdtemp()) / "model.keras"
        models.mini_xception(input_size=48).save(tmp)
        model_path, model_name = tmp, "untrained mini-Xception"
    rng = np.random.default_rng(0)
    one = rng.uniform(0, 255, (1, 48, 48, 1)).astype(np.float32)
    batch = rng.uniform(0, 255, (32, 48, 48, 1)).astype(np.float32)
    classifier = {}
    for backend in predict.BACKENDS:
        clf = predict.Classifier(model_path, backend)
        n = args.calls if backend != "keras" else max(20, args.calls // 5)
        classifier[backend] = {
            "ms_per_face_batch1": round(bench.per_call_ms(lambda: clf.predict(one), n=n), 3),
            "ms_per_face_batch32": round(bench.per_call_ms(lambda: clf.predict(batch),
                                                           n=max(10, n // 10)) / 32, 3)}
        print(backend, classifier[backend], flush=True)
    # the first run the default (Model 0) replaced, timed the same way with TFLite
    first_runs = {}
    for config in (predict.FIRST_RUNS["Model 0"],):
        if (path := predict.config_model_path(config)) is not None:
            clf = predict.Classifier(path, "tflite")
            first_runs[path.parent.name] = round(bench.per_call_ms(lambda: clf.predict(one),
                                                                   n=args.calls), 3)
    print("first runs, TFLite ms per face", first_runs, flush=True)

    with tempfile.TemporaryDirectory() as d:
        video = realtime.make_demo_video(Path(d) / "demo.mp4", seconds=8.0, fps=25)
        import cv2
        cap = cv2.VideoCapture(str(video))
        frames = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        detection = {}
        for label, det in [("haar (scale 1.3, as the source demo)",
                            faces.FaceDetector("haar", scale_factor=1.3)),
                           ("haar (scale 1.1, course default)", faces.FaceDetector("haar")),
                           ("mediapipe", faces.FaceDetector("mediapipe", tile=False)),
                           ("mediapipe with tiles (predict's default, for photos)",
                            faces.FaceDetector("mediapipe"))]:
            found = [len(det(f)) for f in frames[:50]]
            k = iter(range(10**9))
            ms = bench.per_call_ms(lambda: det(frames[next(k) % len(frames)]), n=100)
            detection[label] = {"ms_per_frame": round(ms, 2),
                                "frames_with_a_face": round(float(np.mean(np.array(found) > 0)), 3)}
            print(label, detection[label], flush=True)
        end_to_end = {}
        for detector in ("mediapipe", "haar"):
            # as `python -m fer_utils webcam` runs: the whole frame, no tiles
            rec = predict.EmotionRecognizer(model_path, detector=detector, backend="tflite",
                                            tile=False)
            stats = realtime.run(rec, video=video, show=False, window=10)
            rec.close()
            end_to_end[detector] = stats
            print("end to end", detector, stats, flush=True)
    print("written to", bench.save("realtime", {
        "model": model_name, "frame_size": [640, 480], "classifier": classifier,
        "first_runs_tflite_ms_batch1": first_runs, "detection": detection, "end_to_end": end_to_end}))


if __name__ == "__main__":
    main()
