"""Command line: ``python -m fer_utils COMMAND [options]`` (``--help`` on each command).

Commands
--------
``info``      versions, the oneDNN setting, and where data is looked for.
``audit``     load FER-2013 (or say why not) and print class counts, blanks and duplicates.
``train``     train one experiment from a JSON config (or load its artifact) and print where it is.
``evaluate``  evaluate a saved model on a split; ``--json`` prints one JSON object.
``predict``   emotions of the faces in image files; ``--json`` prints one object per image.
``webcam``    the real-time loop on a camera or a video file.
``esmap``     landmark distance maps and ES-MAPs of image files (``.npy`` + ``.png``).
``landmarks`` landmarks of a photo folder or FER-2013 as resumable shards, here or on Ray.
``campaign``  ``run``: train the queue of long runs at the lowest priority; ``status``.

Errors and exit status
----------------------
A user's mistake (a missing or malformed file, an output path that cannot be written, a
missing optional dependency) ends with a one-line ``error: …`` on stderr, never a traceback.
Every command exits with

* ``0`` — everything asked for was done;
* ``1`` — some inputs failed (each named on stderr), the others were done;
* ``2`` — nothing was done (bad arguments, no data, no model, every input failed).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import fer_utils  # (sets the oneDNN choice before anything imports TensorFlow)
from fer_utils import (
    audit,
    campaign,
    distributed,
    ensemble,
    esmap,
    landmarks,
    mapnet,
    paths,
    realtime,
    runtime,
    sample,
)
from fer_utils import metrics as M
from fer_utils.data import find_fer2013, load_fer2013
from fer_utils.dataset import DataFormatError, ProtocolError
from fer_utils.explorer import map_figure
from fer_utils.faces import DetectorError, ImageError, read_image
from fer_utils.ferplus import find_ferplus
from fer_utils.inference import evaluate_model, model_file, tta_kind
from fer_utils.landmarks import LandmarkError
from fer_utils.masks import MASKS
from fer_utils.predict import DEFAULT_CONFIG, EmotionRecognizer
from fer_utils.realtime import CameraError
from fer_utils.train import TrainConfig, train
from fer_utils.viz import draw_predictions


def _info(args: argparse.Namespace) -> int:
    from importlib.metadata import PackageNotFoundError, version

    def v(pkg: str) -> str:
        try:
            return version(pkg)
        except PackageNotFoundError:
            return "not installed"

    fer, ferplus = find_fer2013(), find_ferplus()
    print(f"fer_utils {fer_utils.__version__}; Python {sys.version.split()[0]}")
    for pkg in ("tensorflow-cpu", "tensorflow", "keras", "mediapipe", "numpy", "opencv-contrib-python"):
        print(f"  {pkg:22s} {v(pkg)}")
    print(runtime.onednn_status())
    print(f"data folder ({paths.DATA_ENV}): {paths.data_dir()}")
    print(f"  FER-2013: {fer if fer else 'not found -> chapters use the offline sample'}")
    print(f"  FERPlus:  {ferplus if ferplus else 'not found'}")
    print(f"cache folder ({paths.CACHE_ENV}): {paths.cache_dir()}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    ds = load_fer2013(args.path, allow_sample=args.path is None, on_error=args.on_error,
                      progress=not args.json)
    summary = audit.summarize_duplicates(ds)
    counts = audit.class_counts(ds)
    if args.json:
        print(json.dumps({"source": ds.source, "is_sample": ds.is_sample, "n": len(ds),
                          "class_counts": counts.to_dict(orient="index"),
                          "blank_rows": ds.rows[audit.blank_images(ds)].tolist(),
                          "duplicates": summary.as_dict(), "skipped": ds.report.n_skipped}))
        return 0
    print(ds)
    print(counts.to_string())
    print(f"blank images: {len(audit.blank_images(ds))}")
    for k, val in summary.as_dict().items():
        print(f"{k}: {val}")
    print(ds.report.summary())
    return 0


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    config = (TrainConfig.from_json(args.config) if Path(args.config).suffix == ".json"
              else TrainConfig.named(args.config))
    if args.quick:
        config = config.quick()
    ds = load_fer2013()
    if config.teacher:   # a student (realtime/mx-distilled): its teacher ensemble first
        made = campaign.prepare_teacher(config, ds)
        if made is not None:
            print(f"teacher: {made.name}, chosen on PublicTest")
    art = train(config, ds, retrain=args.retrain, progress=not args.no_progress)
    m = art.metrics
    print(f"artifact: {art.display}")
    print(f"data: {m['source']}; {m['params']:,} parameters; {m['epochs_trained']} epochs "
          f"({m['seconds_per_epoch']} s each); best epoch {m['best_epoch']}")
    for split in ("PublicTest", "PrivateTest"):
        print(f"{split}: accuracy {m[split]['accuracy']:.4f}, macro F1 {m[split]['macro_f1']:.4f}")
    return 0


def _campaign(args: argparse.Namespace) -> int:
    if args.action == "status":
        print("\n".join(campaign.status_lines()))
        return 0
    try:
        campaign.run(log=lambda line: print(line, flush=True), sittings=not args.no_sitting)
    except RuntimeError as exc:  # another campaign holds the lock
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


_SPLIT_CHOICES = ("Training", "PublicTest", "PrivateTest", "Test")


# --labels -> the label set evaluated (FERPlus: majority labels)
_LABEL_SETS = {"fer": "fer", "fer-clean": "fer-clean", "ferplus": "ferplus-majority"}


def _evaluate(args: argparse.Namespace) -> int:
    # an artifact (its folder, or the model.json inside it) is evaluated as it was trained:
    # its labels, its mask and its evaluation subset, unless told otherwise
    given = Path(args.model)
    folder = given if given.is_dir() else given.parent
    stored = folder / "metrics.json"
    trained = json.loads(stored.read_text()).get("config", {}) if stored.is_file() else {}
    if "protocol" in trained:  # a Chapter 5 experiment (fer_utils.mapnet), tested its own way
        return _evaluate_esmap(args)
    if stored.is_file() and "ensemble" in json.loads(stored.read_text()):
        return _evaluate_ensemble(args, folder)
    config = TrainConfig.from_dict(trained) if trained else None
    path = model_file(args.model)  # fail before loading the data
    # (evaluate_model takes any training label set: FERPlus ones are scored on majority labels)
    labels = _LABEL_SETS[args.labels] if args.labels else trained.get("labels", "fer")
    mask = args.mask or trained.get("mask", "none")
    ds = _load_data(args.data)
    limit = config.eval_limit if config and args.split != "Training" else None
    result = evaluate_model(path, ds, args.split, labels, mask=mask, limit=limit,
                            seed=config.seed if config else 0)
    if args.json:
        print(json.dumps({"model": path.name, "split": args.split, "labels": labels,
                          "mask": mask, "data": ds.source, **result}))
    else:
        covered = "" if mask == "none" else f", mask {mask}"
        subset = f" (the artifact's {limit}-image subset)" if limit else ""
        print(f"{args.split} ({ds.source}, {labels} labels{covered}): {result['n']:,} images"
              f"{subset}")
        print(M.per_class_table(result).round(4).to_string())
        print(f"accuracy {result['accuracy']:.4f}")
    return 0


def _evaluate_ensemble(args: argparse.Namespace, folder: Path) -> int:
    """An ensemble's folder (fer_utils.ensemble): its members' mean probabilities, as stored."""

    if args.labels or args.mask:
        raise ValueError("an ensemble is scored with its members' labels and no mask: leave "
                         "out --labels and --mask")
    members, tta = ensemble.members_of(folder)
    ds = _load_data(args.data)
    result = ensemble.score(members, ds, tta=tta, splits=(args.split,))[args.split]
    if args.json:
        print(json.dumps({"model": folder.name, "split": args.split,
                          "ensemble": [m.name for m in members], "tta": tta, "data": ds.source,
                          **result}))
    else:
        print(f"{args.split} ({ds.source}): ensemble of {len(members)} model(s)"
              f"{f' with test-time augmentation ({tta_kind(tta)} views)' if tta else ''}, "
              f"{result['n']:,} images")
        print(M.per_class_table(result).round(4).to_string())
        print(f"accuracy {result['accuracy']:.4f}")
    return 0


def _load_data(where: str | None):
    """The data of ``--data``: a path, ``sample`` for the offline sample, or (default) what
    ``$FER_DATA_DIR`` holds; no data found is an error, not a silent switch to the sample."""

    if where == "sample":

        return sample.load_sample(announce=False)
    try:
        return load_fer2013(where, allow_sample=False, progress=False)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{exc} To score the offline sample instead, pass --data sample."
                                ) from None


def _evaluate_esmap(args: argparse.Namespace) -> int:
    """An ES-MAP experiment's folder: its model on its protocol's test part, as it was tested."""

    if args.labels or args.mask or args.split != "PrivateTest":
        raise ValueError("an ES-MAP experiment is tested on its own protocol's test part, with "
                         "FER-2013 labels and no mask: leave out --split, --labels and --mask")
    folder = Path(args.model)
    art = mapnet.MapArtifact.from_folder(folder if folder.is_dir() else folder.parent)
    art.load_model()  # fail before loading the data when only metrics are kept
    ds = _load_data(args.data)
    result = mapnet.evaluate(art, ds, progress=not args.json)
    c = art.config
    if args.json:
        print(json.dumps({"model": art.path.name, "input": c.input, "protocol": c.protocol,
                          "data": ds.source, **result}))
    else:
        test, end = result["test"], result["test_all"]
        print(f"{c.model} on {c.input}, {c.protocol} protocol ({ds.source}): "
              f"{test['n']:,} test faces with landmarks")
        print(M.per_class_table(test).round(4).to_string())
        print(f"accuracy {test['accuracy']:.4f}; {end['accuracy']:.4f} counting the "
              f"{end['n_undetected']:,} faces without landmarks as errors")
    return 0


def _predict(args: argparse.Namespace) -> int:
    """Exit status: 0 all images read, 1 some could not be read, 2 none could."""

    out_dir = paths.output_dir(args.annotate, flag="--annotate") if args.annotate else None
    recognizer = EmotionRecognizer(args.model, detector=args.detector, backend=args.backend)
    failed = 0
    for name, stem in zip(args.images, paths.unique_stems(args.images)):
        try:
            image = read_image(name)
            preds = recognizer(image)
        except ImageError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            if args.json:
                print(json.dumps({"image": name, "faces": [], "error": str(exc)}), flush=True)
            continue
        if not preds:
            print(f"{name}: no face found ({args.detector} detector)", file=sys.stderr)
        if args.json:
            print(json.dumps({"image": name, "faces": [p.as_dict() for p in preds]}), flush=True)
        else:
            for i, p in enumerate(preds, 1):
                top = ", ".join(f"{k} {v:.2f}" for k, v in sorted(
                    p.probabilities.items(), key=lambda kv: -kv[1])[:3])
                print(f"{name}: face {i} at {list(p.box)}: {p.emotion} ({top})")
        if args.annotate:
            from PIL import Image

            target = out_dir / (stem + "_emotions.png")
            Image.fromarray(draw_predictions(image, preds)).save(target)
            if not args.json:
                print(f"  annotated: {target}")
    recognizer.close()
    if failed == len(args.images):
        return 2
    return 1 if failed else 0


def _webcam(args: argparse.Namespace) -> int:
    if args.camera is not None and args.video is not None:
        raise ValueError("give --camera N or --video FILE, not both")
    if args.out:
        paths.output_file(args.out, flag="--out")
    recognizer = EmotionRecognizer(args.model, detector=args.detector, backend=args.backend,
                                   tile=args.tiles)
    try:
        stats = realtime.run(recognizer, camera=args.camera, video=args.video, out=args.out,
                             show=not args.no_window, window=args.smooth,
                             max_frames=args.max_frames, progress=args.out is not None)
    except realtime.CameraError as exc:
        raise ValueError(str(exc)) from None
    finally:
        recognizer.close()
    print(f"{stats['frames']} frames, {stats['faces']} faces, {stats['fps']} frames/s end to end "
          f"(detection {stats['detect_ms']} ms, classification {stats['classify_ms']} ms per frame)")
    if args.out:
        print(f"annotated video: {args.out}")
    return 0


def _esmap(args: argparse.Namespace) -> int:
    """Exit status: 0 every image gave a map, 1 some did not, 2 none did."""
    from pathlib import Path

    from PIL import Image

    out = paths.output_dir(args.out, flag="--out")
    if args.save_baseline:
        paths.output_file(args.save_baseline, flag="--save-baseline")
    baseline = None
    if args.baseline:
        baseline = _read_baseline(Path(args.baseline))
    done, neutral = 0, []
    with landmarks.FaceMesh(args.backend, model_path=args.landmarker,
                            upscale=args.upscale) as mesh:
        for name, stem_name in zip(args.images, paths.unique_stems(args.images)):
            try:
                image = read_image(name)
            except ImageError as exc:
                print(f"error: {exc}", file=sys.stderr)
                continue
            points, status = mesh.detect(image)
            if points is None:
                print(f"{name}: {landmarks.STATUS[status]}, no map written", file=sys.stderr)
                continue
            stem = out / stem_name
            dist = esmap.pairwise_distances(points)
            np.save(f"{stem}_distances.npy", dist)
            picture, written = dist, [f"{stem.name}_distances.npy"]
            if baseline is not None:
                m = esmap.esmaps(points, baseline, clip=args.clip)
                np.save(f"{stem}_esmap.npy", m)
                picture = m
                written.append(f"{stem.name}_esmap.npy")
            if args.raw_png:   # one pixel per landmark pair, landmark order
                Image.fromarray(_colour(picture, args.clip)).save(f"{stem}.png")
            else:              # region-ordered, with region ticks and a colour bar
                _save_map_figure(picture, args.clip, Path(name).name, f"{stem}.png")
            written.append(f"{stem.name}.png")
            neutral.append(points)
            done += 1
            print(f"{name}: {', '.join(written)}")
    if args.save_baseline and neutral:
        pts = np.stack(neutral)
        b = esmap.fit_baseline(pts, np.zeros(len(pts), int), neutral=0,
                               source=f"{len(pts)} neutral image(s) given on the command line")
        b.save(args.save_baseline)
        print(f"baseline from {len(pts)} face(s): {args.save_baseline}")
    print(f"{done} of {len(args.images)} images mapped into {out}")
    return 0 if done == len(args.images) else 1 if done else 2


def _landmarks(args: argparse.Namespace) -> int:
    """Landmark shards of a folder of photos or a FER-2013 file, here or on a Ray cluster."""

    out = paths.output_dir(args.out, flag="--out")
    report = distributed.extract_landmarks(args.source, out, address=args.address,
                                           workers=args.workers, shard_size=args.shard_size,
                                           progress=not args.no_progress)
    print(report.summary())
    print(f"shards in {out} (fer_utils.distributed.load_shards reads them)")
    return 0


def _read_baseline(path):
    if not path.is_file():
        raise FileNotFoundError(f"no baseline file {path}")
    try:
        if path.suffix == ".npy":
            m = np.load(path, allow_pickle=False).astype(np.float32)
            if m.shape != (468, 468):
                raise ValueError(f"a baseline is a 468×468 map; {path.name} is {m.shape}")
            return esmap.Baseline(m, 0, source=path.name)
        return esmap.Baseline.load(path)
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{path.name} is not a baseline (.npz from --save-baseline or "
                         f"Baseline.save, or a 468×468 .npy): {exc}") from None


def _save_map_figure(m: np.ndarray, clip: float, title: str, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kind = "ES-MAP" if np.nanmin(m) < 0 else "distances"
    fig = map_figure(m, clip=clip, title=f"{title}: {kind}")
    fig.savefig(path, dpi=150)
    plt.close(fig)


def _colour(m: np.ndarray, clip: float) -> np.ndarray:
    """A map as RGB pixels, one per landmark pair: distances with viridis, ES-MAPs RdBu_r."""
    import matplotlib

    if np.nanmin(m) >= 0:
        rgba = matplotlib.colormaps["viridis"](np.clip(m, 0, 1))
    else:
        rgba = matplotlib.colormaps["RdBu_r"]((np.clip(m, -clip, clip) + clip) / (2 * clip))
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="artifact folder, its model.json, or a .keras file (default: "
                   f"Chapter 4's Model 0, {DEFAULT_CONFIG}, committed under data/)")
    p.add_argument("--detector", default="mediapipe", choices=["haar", "mediapipe"],
                   help="face detector (default mediapipe: on composed group photos it found "
                   "every face Haar found, 4-10x faster; see data/benchmarks/detection.json)")
    p.add_argument("--backend", default="tflite", choices=["tflite", "function", "keras"],
                   help="how the classifier runs (default tflite, the fastest on one face)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as the command line shows them: ``warning: <message>``, no source line."""
    print(f"warning: {message}", file=file or sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fer_utils",
        description="Reading Faces: data, training, evaluation and real-time use of facial "
        "emotion recognition models. Run a command with --help for its options.",
        epilog="Exit status: 0 all done, 1 some inputs failed, 2 nothing done (README, "
        "'Errors and exit status').")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="versions, oneDNN setting, data location")
    p.set_defaults(func=_info)
    p = sub.add_parser("audit", help="class counts, blank images and duplicates of FER-2013")
    p.add_argument("path", nargs="?", help="fer2013.csv(.gz)/tar.gz or image-folder root "
                   "(default: search $FER_DATA_DIR)")
    p.add_argument("--on-error", choices=["raise", "skip"], default="raise",
                   help="stop at a malformed record (default) or skip and count it")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_audit)
    p = sub.add_parser("train", help="train one experiment (or load its artifact)")
    p.add_argument("config", help="JSON file with TrainConfig fields, or the name of a course "
                   "config such as ablation/cnn-d4-s0")
    p.add_argument("--retrain", action="store_true", help="train even if the artifact exists")
    p.add_argument("--quick", action="store_true",
                   help="at most 1,500 training images, 300 per evaluation split, 2 epochs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    p.set_defaults(func=_train)
    p = sub.add_parser("evaluate", help="evaluate a saved model on one split")
    p.add_argument("--model", required=True, help="artifact folder, its model.json, or a .keras file (an "
                   "ES-MAP experiment's folder is tested on its protocol's test part)")
    p.add_argument("--split", default="PrivateTest", choices=_SPLIT_CHOICES,
                   help="the split to score (default PrivateTest, reported once per final "
                   "model; Test is the test folder of an image-folder copy without the "
                   "PublicTest/PrivateTest distinction)")
    p.add_argument("--labels", choices=["fer", "fer-clean", "ferplus"],
                   help="FER-2013 labels; FER-2013 labels on the images FERPlus accepts "
                   "(fer-clean); or FERPlus majority labels (8 classes). Default: those the "
                   "artifact was trained on, else fer")
    p.add_argument("--mask", choices=MASKS,
                   help="cover a face region of every test image first (Chapter 7). Default: "
                   "the mask the artifact was trained with, else none")
    p.add_argument("--data", help="FER-2013 file or folder, or 'sample' for the offline sample "
                   "(default: what $FER_DATA_DIR holds)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=_evaluate)
    p = sub.add_parser("predict", help="emotions of the faces in image files")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG, ...)")
    _add_model_options(p)
    p.add_argument("--json", action="store_true",
                   help='one JSON object per image: {"image", "faces": [{"box", "emotion", '
                   '"probabilities"}]}')
    p.add_argument("--annotate", metavar="DIR", help="also write each image with boxes and labels here")
    p.set_defaults(func=_predict)
    p = sub.add_parser("webcam", help="real-time emotions from a camera or a video file")
    p.add_argument("--camera", type=int, help="camera index (default 0)")
    p.add_argument("--video", help="read frames from this video file instead of a camera")
    p.add_argument("--out", help="write the annotated video here (.mp4)")
    p.add_argument("--no-window", action="store_true", help="do not open a window (headless)")
    p.add_argument("--smooth", type=int, default=10, help="frames to average each face over (10)")
    p.add_argument("--max-frames", type=_positive_int, help="stop after this many frames")
    p.add_argument("--tiles", action="store_true", help="MediaPipe also searches tiles of each "
                   "frame (finds the small faces of a group; ~10x slower per frame)")
    _add_model_options(p)
    p.set_defaults(func=_webcam)
    p = sub.add_parser("esmap", help="landmark distance maps and ES-MAPs of image files")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="image files with one face each (JPEG, PNG, ...)")
    p.add_argument("--out", required=True, help="folder for the .npy maps and .png pictures")
    p.add_argument("--baseline", help="neutral baseline (.npz from --save-baseline, or a "
                   "468×468 .npy); with it each image also gets its ES-MAP")
    p.add_argument("--backend", default="auto", choices=["auto", "legacy", "tasks"],
                   help="Face Mesh back-end: auto (default) takes the legacy one where this "
                   "MediaPipe has it, else tasks (MediaPipe ≥ 0.10.30, Colab)")
    p.add_argument("--landmarker", help="face_landmarker.task model for the tasks back-end "
                   "(default $FER_FACE_LANDMARKER, else fetched once into the cache)")
    p.add_argument("--upscale", type=int, help="enlarge images smaller than this many pixels")
    p.add_argument("--clip", type=float, default=0.1, help="ES-MAP clip (default 0.1)")
    p.add_argument("--raw-png", action="store_true",
                   help="write the bare map, one pixel per landmark pair in landmark order, "
                   "instead of the figure with region ticks and a colour bar")
    p.add_argument("--save-baseline", metavar="PATH",
                   help="treat the images as neutral faces: save their mean map as a baseline")
    p.set_defaults(func=_esmap)
    p = sub.add_parser("landmarks", help="Face Mesh landmarks of many images, here or on a "
                       "Ray cluster, as resumable shards")
    p.add_argument("source", help="a folder of image files, or a FER-2013 csv(.gz)/tar.gz")
    p.add_argument("--out", required=True, help="folder for the shards (a stopped job resumes)")
    p.add_argument("--address", help="a running Ray cluster (e.g. ray://head:10001 or auto); "
                   "default: this machine")
    p.add_argument("--workers", type=_positive_int, default=1,
                   help="Face Mesh processes (1: serially here; more: a local Ray cluster)")
    p.add_argument("--shard-size", type=_positive_int, default=1024, help="images per shard")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    p.set_defaults(func=_landmarks)
    p = sub.add_parser("campaign", help="the queue of long trainings: run it (nice 19, "
                       "resumable) or show where each run stands",
                       description="run: train the committed queue in order at the lowest CPU "
                       "priority, each run from its checkpoint, one log line per epoch "
                       "(make campaign runs it in the background). status: each entry done, "
                       "at epoch N, or waiting, with CPU-hours spent and left.")
    p.add_argument("action", choices=["run", "status"])
    p.add_argument("--no-sitting", action="store_true",
                   help="run: start no one-sitting run (less than its sitting, about 2 hours, "
                   "is left of this stretch of work); the queue goes on with the runs after it")
    p.set_defaults(func=_campaign)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import warnings

    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        return args.func(args)
    except (FileNotFoundError, DataFormatError, ProtocolError, ValueError, CameraError,
            DetectorError, LandmarkError, runtime.OneDNNUnsafeModel) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("tensorflow", "keras"):
            print(f"error: `{args.command}` needs TensorFlow, which is not installed: "
                  "pip install 'fer-utils[cpu]' (or '[gpu]'; Colab has it already)",
                  file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = shown
