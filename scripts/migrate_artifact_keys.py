"""Re-key the committed artifacts to the experiment core's key schema 2, and show that each
still re-evaluates to its stored metrics.

    python scripts/migrate_artifact_keys.py            # rename, then re-evaluate every kept model
    python scripts/migrate_artifact_keys.py --no-check # rename only

Schema 1 keyed an artifact by its config and the *name* of its data (``fer2013`` for any
csv), with ``mask`` left out when ``"none"``. Schema 2 (:mod:`fer_utils.experiment`) keys it
by the config (every field, new ones included) and the data's *content fingerprint*. Every
committed artifact ran on the full Kaggle FER-2013 (``metrics["data"] == "fer2013"``), so its
fingerprint is :data:`fer_utils.data.FER2013_FINGERPRINT`. The script checks each folder's
old name against the schema-1 formula before it renames it (``git mv`` keeps the history),
rewrites ``config.json`` with the full config and adds ``data_fingerprint`` and
``key_schema`` to ``metrics.json``. With the real data (``FER_DATA_DIR``) it then evaluates
every kept model again through ``python -m fer_utils evaluate --model`` and writes the
comparison to ``data/benchmarks/key-migration.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import fer_utils  # noqa: F401
from fer_utils import bench, experiment, mapnet, paths, train
from fer_utils.data import FER2013_FINGERPRINT


def schema1_key(config_dict: dict, name: str) -> str:
    d = dict(config_dict)
    if d.get("mask") == "none":
        del d["mask"]
    blob = json.dumps({"config": d, "data": "fer2013"}, sort_keys=True)
    return f"{name}-fer2013-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


def migrate(folder: Path, config_cls) -> dict | None:
    metrics_file = folder / "metrics.json"
    m = json.loads(metrics_file.read_text())
    if m.get("key_schema") == experiment.KEY_SCHEMA:
        return None
    if m["data"] != "fer2013":
        raise SystemExit(f"{folder.name}: trained on {m['data']!r}, not the Kaggle FER-2013")
    stored = json.loads((folder / "config.json").read_text())
    if folder.name != schema1_key(stored, stored["name"]):
        raise SystemExit(f"{folder.name}: not the schema-1 key of its config.json")
    config = config_cls.from_dict(m["config"])
    new = folder.parent / experiment.artifact_key(config, experiment.DataRef.official_fer2013())
    m.update(config=config.to_dict(), data_fingerprint=FER2013_FINGERPRINT,
             key_schema=experiment.KEY_SCHEMA)
    metrics_file.write_text(json.dumps(m, indent=1))
    (folder / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    subprocess.run(["git", "mv", str(folder), str(new)], check=True, cwd=paths.repo_root())
    return {"old": folder.name, "new": new.name}


def reevaluate(folder: Path) -> dict:
    """``evaluate --model`` on the artifact, against what its metrics.json stores."""
    m = json.loads((folder / "metrics.json").read_text())
    cmd = [sys.executable, "-m", "fer_utils", "evaluate", "--model", str(folder), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return {"artifact": folder.name, "error": out.stderr.strip().splitlines()[-1]}
    got = json.loads(out.stdout.strip().splitlines()[-1])
    got = got.get("test", got)  # an ES-MAP experiment reports its test part
    want = m.get("test", m.get("PrivateTest"))
    return {"artifact": folder.name, "n": got["n"], "stored_accuracy": want["accuracy"],
            "accuracy": got["accuracy"],
            "same": all(got[k] == want[k] for k in ("n", "accuracy", "confusion"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-check", action="store_true", help="rename only")
    args = parser.parse_args()
    root = paths.repo_root() / "data"
    folders = [(p.parent, train.TrainConfig) for p in sorted(root.glob("*/metrics.json"))]
    folders += [(p.parent, mapnet.MapConfig) for p in sorted((root / "esmap").glob("*/metrics.json"))]
    renamed = [r for r in (migrate(f, c) for f, c in folders) if r]
    for r in renamed:
        print(f"{r['old']} -> {r['new']}")
    if args.no_check:
        return
    from tqdm import tqdm

    checks = []
    for p in tqdm(sorted(root.glob("*/metrics.json")) + sorted((root / "esmap").glob("*/metrics.json")),
                  desc="re-evaluating", unit="model"):
        kept = json.loads(p.read_text()).get("model_kept", "yes")
        if not str(kept).startswith("no"):
            checks.append(reevaluate(p.parent))
            tqdm.write(json.dumps(checks[-1]))
    out = bench.save("key-migration", {
        "key_schema": experiment.KEY_SCHEMA,
        "renamed": renamed or "none now: every artifact was already at this schema (the renames "
                              "are in the git history of data/)",
        "reevaluated": checks})
    print(f"{sum(c.get('same', False) for c in checks)} of {len(checks)} models reproduce "
          f"their stored metrics; written to {out.name}")


if __name__ == "__main__":
    main()
