"""Writes chapters/06_explorer.ipynb (cells kept here, so the chapter can be regenerated)."""
from _notebook import caption, code, figure_code, md, setup_cell, write
cells = [
md(r"""# Exploring ES-MAPs

:::{admonition} Overview
:class: tip
**Question.** The previous chapter measured ES-MAPs in bulk. Here we look at them one face at a
time: which landmark regions move for each emotion, how one face differs from its emotion's
consensus, and how much the picture depends on two choices the reader can change — the neutral
baseline and the clip threshold.

**You will use** `fer_utils.explorer`: a static figure for the book and an ipywidgets explorer
for JupyterLab and Colab (upload your own photo there).

:::

:::{admonition} Prerequisites
:class: note
| concept | why here | time to learn |
|---|---|---|
| Chapter 5 (ES-MAPs, neutral baselines, consensus maps) | every panel of the explorer shows one of them | — |
| ipywidgets (sliders, dropdowns, `observe`) | to extend the explorer | 15 min |
:::
"""),
setup_cell(widgets=True),
code("""import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fer_utils import book, data, esmap, explorer, landmarks, runtime

book.setup(seed=0)
ds = data.load_fer2013().for_runtime()  # quick mode (tests): a small subset of the real data
book.show_source(ds)
QUICK = runtime.quick_mode()"""),
md(r"""## Maps ordered by region

A distance map inherits MediaPipe's landmark numbering, which jumps around the face. Reordering
rows and columns by region (`explorer.reorder`, built on `landmarks.region_order`) turns each
region into one block: the rows *and* the columns of the mouth's 40 landmarks sit together, so
everything that involves the mouth is a cross-shaped band, and the block where the band crosses
itself is the change *within* the mouth. `explorer.block_means` reduces a map to the mean
absolute change per pair of regions — a 7×7 table instead of 219,024 numbers.

The baseline and the consensus maps are built as in Chapter 5: the baseline from the training
split's neutral faces, each emotion's consensus from 50 random training faces. The faces we
browse come from PublicTest, which neither saw."""),
code("""marks = landmarks.dataset_landmarks(ds.images)
train = (ds.usage == "Training") & marks.found
neutral = data.CLASS_NAMES.index("neutral")
baseline = esmap.fit_baseline(marks.points[train], ds.labels[train], source="Training")
rng = np.random.default_rng(0)
few_neutral = rng.choice(np.flatnonzero(train & (ds.labels == neutral)), 50, replace=False)
mean_idx = np.sort(rng.choice(np.flatnonzero(train), min(3000, int(train.sum())), replace=False))
baselines = {
    f"training neutral ({baseline.n_global:,} faces)": baseline,
    "50 training neutral faces": esmap.fit_baseline(marks.points[few_neutral],
                                                    ds.labels[few_neutral]),
    "mean of all emotions": esmap.fit_baseline(marks.points[mean_idx],
                                               np.full(len(mean_idx), neutral)),
}
consensus_set = explorer.ConsensusSet.pick(marks.points[train], ds.labels[train], per_class=50)
consensus = consensus_set.maps(baseline)
per_class = 20 if QUICK else 100
browse = np.concatenate([
    rng.choice(idx, min(per_class, len(idx)), replace=False)
    for idx in (np.flatnonzero((ds.usage == "PublicTest") & marks.found & (ds.labels == k))
                for k in range(7)) if len(idx)])
print(f"baselines: {', '.join(baselines)}; {len(browse):,} PublicTest faces to browse")"""),
md(r"""## Which regions move, per emotion

For each emotion's consensus map, the mean absolute change per pair of regions:"""),
figure_code("""blocks = {name: explorer.block_means(consensus[k])
          for k, name in enumerate(data.CLASS_NAMES) if not np.isnan(consensus[k]).all()}
fig, axes = plt.subplots(1, len(blocks), figsize=(2.3 * len(blocks), 2.9), sharey=True)
vmax = max(float(b.to_numpy().max()) for b in blocks.values())
for ax, (name, b) in zip(axes, blocks.items()):
    im = ax.imshow(b.to_numpy(), cmap="magma", vmin=0, vmax=vmax)
    ax.set_xticks(range(len(b)), b.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(b)), b.index, fontsize=7)
    ax.set_title(name, fontsize=10)
fig.colorbar(im, ax=list(axes), fraction=0.015, pad=0.01, label="mean |change|")
book.figure("explorer_blocks", fig)"""),
caption("explorer_blocks", """Mean absolute change from the neutral baseline per pair of face
regions, in each emotion's consensus ES-MAP (one colour scale for all panels)."""),
code("""def top_pair(b):
    upper = b.where(np.triu(np.ones(b.shape, bool)))
    i, j = np.unravel_index(np.nanargmax(upper.to_numpy()), b.shape)
    return f"{b.index[i]}–{b.columns[j]}" if i != j else f"within {b.index[i]}"

top = pd.DataFrame({
    "most changed region pair": {n: top_pair(b) for n, b in blocks.items()},
    "its mean |change|": {n: b.to_numpy().max() for n, b in blocks.items()},
    "mean |change| overall": {n: float(np.nanmean(np.abs(consensus[k])))
                             for k, n in enumerate(data.CLASS_NAMES) if n in blocks}})
book.glue("happy_pair", top.loc["happy", "most changed region pair"])
book.glue("surprise_pair", top.loc["surprise", "most changed region pair"])
with_mouth = top["most changed region pair"].str.contains("mouth")
book.glue("n_mouth", f"{int(with_mouth.sum())} of {len(top)}")
book.glue("no_mouth", ", ".join(f"{n} ({p})" for n, p in
                                top.loc[~with_mouth, "most changed region pair"].items()) or "none")
quietest = top["mean |change| overall"].drop("neutral", errors="ignore").idxmin()
book.glue("quiet_emotion", quietest)
book.glue("loudest_emotion", top["mean |change| overall"].idxmax())
assert set(top.index) <= set(data.CLASS_NAMES) and (top["its mean |change|"] > 0).all()
top.round(4)"""),
md(r"""For *happy* the largest change is {glue:text}`happy_pair`, for *surprise*
{glue:text}`surprise_pair`. In {glue:text}`n_mouth` emotions the most changed pair involves the
mouth (the exceptions: {glue:text}`no_mouth`): an open or stretched mouth changes its distance to
everything else. *{glue:text}`loudest_emotion`* moves furthest from the neutral baseline overall;
apart from *neutral* itself, *{glue:text}`quiet_emotion`* moves least — its consensus is close
to a neutral face, which is one reason sad and neutral are confused so often (Chapter 4). This
is the ES-MAP view of the question Chapter 7 asks with masks: which region carries the
expression?"""),
md(r"""## One face against its emotion's consensus

The figure below is what the explorer shows for one PublicTest face: the face with its
landmarks (the chosen region lit), its ES-MAP, the consensus of its labelled emotion and the
difference. Maps are ordered by region; the lit band is the mouth's rows and columns."""),
figure_code("""happy = data.CLASS_NAMES.index("happy")
ex = explorer.Explorer(ds.images[browse], ds.labels[browse], marks.points[browse], baselines,
                       consensus_set)
position = 0
fig = ex.figure("happy", position, region="mouth")
book.figure("explorer_static", fig)"""),
caption("explorer_static", """The explorer's view of one happy PublicTest face: the face with its
landmarks (mouth lit), its ES-MAP, the happy consensus and their difference, rows and columns
ordered by region (the lit band is the mouth's)."""),
code("""r = explorer.nearest_consensus(esmap.esmaps(ex.face("happy", position)[1], baseline), consensus)
book.glue("static_r", f"{r[happy]:.2f}")
book.glue("static_best", data.CLASS_NAMES[int(np.nanargmax(r))])
print({n: round(float(v), 2) for n, v in zip(data.CLASS_NAMES, r)})"""),
md(r"""This face correlates with the happy consensus at r = {glue:text}`static_r`, and its closest
consensus is *{glue:text}`static_best`*. The difference panel shows where this smile departs
from the average one: a face is never a consensus map plus noise, which is why Chapter 5's
nearest-consensus rule is right far less often than a trained network."""),
md(r"""## How much do the baseline and the clip matter?

An ES-MAP is a *difference*, so it is only as meaningful as its baseline. Three baselines, one
face: the full training-neutral mean, a mean over only 50 neutral faces, and the mean of all
emotions (not neutral at all). For each, the correlation of the face's map with the map under
the full baseline, and how many values reach the clip."""),
code("""face_pts = ex.face("happy", position)[1]
ref_map = esmap.esmaps(face_pts, baseline, clip=None)
rows = {}
for name, b in baselines.items():
    raw = esmap.esmaps(face_pts, b, clip=None)
    rows[name] = {"r with the full-baseline map": float(esmap.correlation(raw[None], ref_map)[0]),
                  "share clipped at ±0.1": float(np.mean(np.abs(raw) >= 0.1)),
                  "share clipped at ±0.05": float(np.mean(np.abs(raw) >= 0.05))}
sensitivity = pd.DataFrame(rows).T
assert sensitivity.iloc[0, 0] > 0.999  # the full baseline against itself
book.glue("r_few", f"{sensitivity.iloc[1, 0]:.2f}")
book.glue("r_mean", f"{sensitivity.iloc[2, 0]:.2f}")
book.glue("clip10", f"{100 * sensitivity.iloc[0, 1]:.1f} %")
book.glue("clip05", f"{100 * sensitivity.iloc[0, 2]:.1f} %")
sensitivity.round(3)"""),
md(r"""Fifty neutral faces give nearly the same map (r = {glue:text}`r_few`): an average of
faces stabilises quickly. Even the mean of *all* emotions, which is not a neutral face at all,
gives r = {glue:text}`r_mean`: for a single face, its own deviation from any average face
dominates the map, and the choice of baseline shifts it only a little. (With a per-subject
baseline, possible for JAFFE and CK+, the face's own shape would be removed as well; FER-2013
does not identify its subjects.) The reference clip of ±0.1 saturates only
{glue:text}`clip10` of this face's values; ±0.05 would saturate {glue:text}`clip05`. Try both in
the explorer."""),
md(r"""## The explorer

Pick an emotion and an image, light a region, change the clip and the baseline — or upload a
photo of your own (it is processed in your session only, never stored). The status line gives
the numbers behind the picture: the face's correlation with its emotion's consensus, the closest
consensus, and for a lit region its share of the change.

:::{note}
In the online book the explorer below shows its saved initial state only: nothing runs behind
a static page, so the controls do not respond there. Open the chapter in Colab or JupyterLab
(rocket icon at the top) to use it; the static figure above shows the same panels.
:::"""),
code("""box = ex.widget(emotion="happy")
assert "happy" in box.controls["status"].value
box"""),
code("""# What the controls do, checked without a browser: each change redraws with new numbers.
c = box.controls
first = c["status"].value
c["region"].value = "mouth"
assert "mouth: 40 landmarks" in c["status"].value
c["baseline"].value = list(baselines)[2]
assert c["status"].value != first
c["region"].value, c["baseline"].value = None, list(baselines)[0]  # back to the saved state"""),
md(r"""## Summary

* Ordering a map's rows and columns by region turns 219,024 numbers into blocks a reader can
  name; one number per region pair (`explorer.block_means`) says which regions move.
* In {glue:text}`n_mouth` emotions the most changed region pair involves the mouth;
  *{glue:text}`quiet_emotion`* moves least from neutral.
* A single face can sit far from its emotion's consensus. For one face, the baseline (50 neutral
  faces, all of them, or even the mean of all emotions) changes its map only a little, and the
  reference clip saturates a small share of values.

## Exercises

1. Find the PublicTest face of *surprise* whose closest consensus is not *surprise*. Which region
   explains the difference?

   ```{dropdown} Solution
   Loop over the positions `i` of `ex.by_class[5]` with `explorer.nearest_consensus(
   esmap.esmaps(ex.face("surprise", i)[1], baseline), consensus)` and keep the first whose
   `argmax` is not 5. Then compare `explorer.block_means` of its map with that of the surprise
   consensus: the region pairs with the largest gap (often those involving the mouth, when the
   jaw did not drop) explain the mismatch. Light those regions in the explorer to see them.
   ```

2. Build a per-subject baseline for JAFFE or CK+ (`fer_utils.posed`) and compare one subject's
   maps under the global and the per-subject baseline with the sensitivity table above.

   ```{dropdown} Solution
   `esmap.fit_baseline(points, labels, subjects=subject_ids)` keeps one neutral mean per
   subject; pass `subjects=` to `esmap.esmaps` as well. Expect a higher correlation with the
   emotion's consensus under the per-subject baseline, since the subject's face shape is
   subtracted away; measure it with `esmap.correlation`.
   ```

3. Does the clip change the nearest-consensus accuracy of Chapter 5? Recompute it at ±0.05 and
   ±0.2.

   ```{dropdown} Solution
   `consensus_set.maps(baseline, clip)` recomputes the consensus with the same faces; correlate
   each PublicTest map (made with the same clip) with the seven consensus maps and compare the
   arg-max with the labels. The sensitivity table above predicts the answer's direction: at
   ±0.1 almost nothing is clipped, so only the tighter clip can change much.
   ```"""),
]
write(cells, "chapters/06_explorer.ipynb")
