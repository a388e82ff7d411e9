"""Writes appendix/benchmarks.ipynb, the "Benchmarks" appendix (cells kept here, regenerate)."""
from _notebook import caption, code, figure_code, md, write
cells = [
md(r"""# Appendix: benchmarks

Every timing in the book comes from a benchmark script run on an otherwise idle machine; each
writes a JSON file under `data/benchmarks/`, committed with the book. This appendix gathers them.
Re-run a script on your machine to compare (they need no dataset unless noted):

| script | what it measures | file |
|---|---|---|
| `scripts/benchmark_depth.py` | seconds per epoch and PrivateTest time of the depth-3…6 CNNs (needs FER-2013) | `depth.json` |
| `scripts/benchmark_realtime.py` | classifier latency per face (Keras, `tf.function`, TFLite), face detection per frame, end-to-end FPS | `realtime.json` |
| `scripts/benchmark_esmap.py` | Face Mesh per face, distance maps (the reference loop vs a compiled one), ES-MAPs per second, memory | `esmap.json` |
"""),
code("""import json

import matplotlib.pyplot as plt
import pandas as pd

from fer_utils import bench, book

book.setup(seed=0)
found = {name: bench.load(name) for name in ("depth", "realtime", "esmap")}
missing = [name for name, value in found.items() if value is None]
if missing:
    print("not measured yet:", ", ".join(f"scripts/benchmark_{m}.py" for m in missing))
machines = pd.DataFrame({name: value["machine"] for name, value in found.items() if value}).T
assert (machines["cpus"] > 0).all() and machines["onednn"].eq("0").all()
machines"""),
md(r"""## Training cost per depth (Chapter 3)"""),
code("""if found["depth"]:
    depth = pd.DataFrame(found["depth"]["depths"]).T
    depth.index.name = "conv blocks"
    counts = [c for c in ("params", "n_private_test") if c in depth]
    display(depth.astype({c: int for c in counts}))"""),
md(r"""## The real-time path (Chapter 4)"""),
figure_code("""rt = found["realtime"]
assert rt, "data/benchmarks/realtime.json is committed with the book"
clf = pd.DataFrame(rt["classifier"]).T
fig, ax = plt.subplots(figsize=(6, 2.6))
clf.plot.barh(ax=ax, logx=True)
ax.set_xlabel("ms per face (log scale)")
ax.invert_yaxis()
book.figure("bench_classifier", fig)"""),
caption("bench_classifier", """Milliseconds per face for the mini-Xception classifier: a Keras
eager call, a `tf.function` and TFLite, one face at a time and in batches of 32 (log scale)."""),
code("""display(clf, pd.DataFrame(rt["detection"]).T, pd.DataFrame(rt["end_to_end"]).T)
book.glue("bench_fps", f"{rt['end_to_end']['mediapipe']['fps']:.0f}")
book.glue("bench_tflite", f"{rt['classifier']['tflite']['ms_per_face_batch1']:.2f}")"""),
md(r"""## ES-MAPs (Chapters 5 and 6)"""),
code("""es = found["esmap"]
if es:
    display(pd.Series(es["landmarks"], name="Face Mesh").to_frame(),
            pd.Series(es["distances"], name="distance maps").to_frame(),
            pd.DataFrame(es["esmaps"]).T, pd.DataFrame(es["memory"]).T)"""),
md(r"""## Reading these numbers

The numbers describe one machine (the table at the top). Absolute times move with the CPU;
the ratios — TFLite against a Keras call, the compiled distance map against the reference's Python loop,
on-the-fly against materialised memory — travel better. A benchmark run beside other work
measures the other work too: the scripts say "idle" because that is the only condition under
which their numbers are comparable."""),
]
write(cells, "appendix/benchmarks.ipynb")
