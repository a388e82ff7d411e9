"""Command line: ``python -m fer_utils COMMAND [options]`` (``--help`` on each command).

Commands
--------
``info``   versions, the oneDNN setting, and where data is looked for.
``audit``  load FER-2013 (or say why not) and print class counts, blanks and duplicates.

A user's mistake (a missing or malformed file) ends with a one-line message on stderr and
exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

import fer_utils  # noqa: F401  (sets TF_ENABLE_ONEDNN_OPTS=0 before anything imports TensorFlow)
from fer_utils import paths, runtime


def _info(args: argparse.Namespace) -> int:
    from importlib.metadata import PackageNotFoundError, version

    def v(pkg: str) -> str:
        try:
            return version(pkg)
        except PackageNotFoundError:
            return "not installed"

    from fer_utils.data import find_fer2013
    from fer_utils.ferplus import find_ferplus

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
    from fer_utils import audit
    from fer_utils.data import load_fer2013

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fer_utils", description=__doc__.split("\n")[0])
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
    return parser


def main(argv: list[str] | None = None) -> int:
    from fer_utils.data import DataFormatError, ProtocolError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, DataFormatError, ProtocolError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
