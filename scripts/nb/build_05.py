"""Writes chapters/05_esmaps.ipynb (cells kept here, so the chapter can be regenerated)."""
from _notebook import caption, code, figure_code, glued_code, md, setup_cell, write
cells = [
md(r"""# Emotional-state heatmaps (ES-MAPs)

:::{admonition} Overview
:class: tip
**Question.** Seed 000 {cite}`yang_esmaps` turns each face into a map of how the distances
between its 468 landmarks differ from a neutral face, and reports that a small CNN on these
*ES-MAPs* beats the same CNN on the face images (FER-2013: 66 % vs 56 %), and that ES-MAPs
cluster by emotion better than pixels. We rebuild the pipeline, fix what the reference code
breaks, measure every step on FER-2013, and check both claims under two protocols.

**You will learn** how Face Mesh landmarks become a distance matrix, why the baseline must come
from training data, how to measure "clusters better" with numbers, and what a 62-pixel
rendering of a 468×468 map throws away.
:::

:::{admonition} Prerequisites
:class: note
| concept | why here | time to learn |
|---|---|---|
| Chapters 1–3 (FER-2013, the protocol, CNNs) | the data and the models | — |
| Euclidean distance, matrices | the distance map | 10 min |
| PCA, nearest neighbours, logistic regression | measuring separation | 20 min |
:::
"""),
setup_cell(),
code("""import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fer_utils import book, clusters, data, esmap, landmarks, mapnet, paths, runtime, sources

book.setup(seed=0)
ds = data.load_fer2013().for_runtime()  # quick mode (tests): a small subset of the real data
book.show_source(ds)
QUICK = runtime.quick_mode()"""),
md(r"""## From a face to an ES-MAP

MediaPipe Face Mesh {cite}`kartynnik2019facemesh` places 468 points $p_i = (x_i, y_i, z_i)$ on a face,
with $z$ a relative depth. The ES-MAP of a face is built in three steps:

1. **Distances.** $D_{ij} = \lVert p_i - p_j \rVert / \max_{kl} \lVert p_k - p_l \rVert$, a
   symmetric 468×468 matrix with a zero diagonal; dividing by the largest distance removes the
   face's size in the image.
2. **Neutral baseline.** $B$ is the mean of $D$ over neutral faces. The reference code averaged
   the neutral faces of the *test* folder — test images shaping the input of every model. Here
   $B$ comes from the training split only (or, for datasets that identify people, from each
   person's own neutral face: `esmap.fit_baseline(..., subjects=...)`).
3. **Difference.** $E = \operatorname{clip}(D - B, -0.1, 0.1)$: positive where two landmarks are
   further apart than on a neutral face (a mouth opening), negative where they come closer.

`fer_utils.landmarks.dataset_landmarks` runs Face Mesh once over the whole dataset and caches
the result on disk (FER-2013: about 9 minutes on two cores, once)."""),
code("""marks = landmarks.dataset_landmarks(ds.images)
train = (ds.usage == "Training") & marks.found
baseline = esmap.fit_baseline(marks.points[train], ds.labels[train], source="Training")
print(marks.summary())"""),
figure_code("""happy = data.CLASS_NAMES.index("happy")
example = np.flatnonzero((ds.usage == "PublicTest") & marks.found & (ds.labels == happy))[0]
fig = esmap.pipeline_figure(ds.images[example], marks.points[example], baseline,
                            title="One happy face from PublicTest")
book.figure("esmap_pipeline", fig)"""),
code("""d = esmap.pairwise_distances(marks.points[example])
assert np.allclose(d, d.T) and (np.diag(d) == 0).all() and d.max() == 1"""),
caption("esmap_pipeline", """From a face to an ES-MAP, on one happy PublicTest face: the Face Mesh
landmarks on the image, the 468×468 matrix of normalised pairwise distances, the neutral
baseline (mean over neutral *training* faces), and the ES-MAP, their clipped difference (red:
further apart than on a neutral face; blue: closer)."""),
md(r"""In the ES-MAP (right), the red band belongs to landmarks around the mouth: a smile pulls the
mouth corners away from the nose and eyes. The blocks follow MediaPipe's landmark numbering,
which is not ordered by region; the explorer in the next chapter reorders rows and columns by
region (`landmarks.region_order`)."""),
md(r"""## How many faces does Face Mesh find?

The reference code skips a face that Face Mesh cannot find without counting it, so its
accuracy is measured on an unknown subset. Here every image gets a status, and an undetected
test face will count as an error in the end-to-end accuracy below."""),
code("""table = marks.detection_table(ds.labels, ds.usage)
counts = marks.counts()
book.glue("det_rate", f"{100 * marks.detection_rate:.1f} %")
book.glue("det_missed", f"{counts['no face found']:,}")
book.glue("det_blank", f"{counts['blank image']:,}")
book.glue("det_ms", f"{1000 * marks.seconds / len(marks):.1f}")
worst = table.loc["total"].drop("all").idxmin()
book.glue("det_worst", worst)
book.glue("det_worst_rate", f"{table.loc['total', worst]:.1f} %")
table.round(1)"""),
code("""from fer_utils import audit

blank = audit.blank_images(ds)
assert (marks.status[blank] == landmarks.BLANK).all(), "every blank image is reported as blank"
assert 0.5 < marks.detection_rate <= 1.0
if not ds.is_sample:
    assert counts["blank image"] == 12  # FER-2013's 12 all-black images (Chapter 1)"""),
md(r"""Face Mesh found a face in {glue:text}`det_rate` of the images ({glue:text}`det_ms` ms each);
{glue:text}`det_missed` images had none it could find and {glue:text}`det_blank` are blank.
Detection is not independent of the emotion: *{glue:text}`det_worst`* faces are found least
often ({glue:text}`det_worst_rate`), so a model that only sees detected faces is tested on a
slightly easier, differently balanced set."""),
md(r"""## Consensus maps

Seed 000 averages 50 random maps per emotion into a *consensus* map and shows maps that match
it closely and maps that do not. We do the same on training faces (with 52×52 pooled maps: at
this display size a full map shows no more), and add a number the paper leaves out: a
**nearest-consensus classifier** — label each PublicTest map with the emotion whose consensus it
correlates with best. If consensus maps capture something consistent, it beats chance."""),
figure_code("""per_class = 60 if QUICK else 300
rng = np.random.default_rng(0)
pool_idx = np.concatenate([
    rng.choice(np.flatnonzero(train & (ds.labels == k)),
               size=min(per_class, int((train & (ds.labels == k)).sum())), replace=False)
    for k in range(7)])
pool_maps = esmap.esmaps(marks.points[pool_idx], baseline, reduce="pooled")
consensus, chosen = esmap.consensus_maps(pool_maps, ds.labels[pool_idx], per_class=50)
fig = esmap.consensus_figure(consensus, pool_maps, ds.labels[pool_idx])
book.figure("esmap_consensus", fig)"""),
caption("esmap_consensus", """Consensus ES-MAPs per emotion (the mean of 50 random training maps,
as seed 000), with the maps that correlate best and worst with their emotion's consensus."""),
code("""val = np.flatnonzero((ds.usage == "PublicTest") & marks.found)
val = val if not QUICK else val[:300]
val_maps = esmap.esmaps(marks.points[val], baseline, reduce="pooled")
scores = np.stack([esmap.correlation(val_maps, consensus[k]) for k in range(7)], axis=1)
nearest = scores.argmax(axis=1)
acc_consensus = float(np.mean(nearest == ds.labels[val]))
chance = float(np.bincount(ds.labels[val]).max() / len(val))
book.glue("cons_acc", f"{100 * acc_consensus:.1f} %")
book.glue("cons_chance", f"{100 * chance:.1f} %")
own = np.mean([scores[ds.labels[val] == k, k].mean() for k in range(7)])
book.glue("cons_own_r", f"{own:.2f}")
print(f"nearest consensus: {100 * acc_consensus:.1f} % (most frequent class: {100 * chance:.1f} %)")"""),
md(r"""Labelling each PublicTest map by its most similar consensus map is right
{glue:text}`cons_acc` of the time, against {glue:text}`cons_chance` for always answering the
most frequent class: the consensus maps are not just noise. Yet the average correlation of a
map with its own emotion's consensus is only {glue:text}`cons_own_r` — "overall agreement"
in the paper's words is a loose agreement, and the outliers above show why: a turned head or
a failed mesh changes distances more than an expression does."""),
md(r"""## Do ES-MAPs cluster by emotion?

Seed 000 shows UMAP and t-SNE plots in which ES-MAPs look better separated than images. A 2-D
picture depends on its settings, so we add two numbers for every representation, in the
original space (after PCA to 50 dimensions) and in the 2-D embedding: the **silhouette** of the
emotion labels (0 means no cluster structure) and the accuracy of a **15-nearest-neighbour**
classifier under 5-fold cross-validation, beside the most-frequent-class rate. PublicTest faces
are used (PrivateTest stays for the final models)."""),
code("""n_embed = 300 if QUICK else 2000
emb_idx = np.sort(rng.choice(val, size=min(n_embed, len(val)), replace=False))
y_emb = ds.labels[emb_idx]
features = {
    "ES-MAP (pooled)": esmap.condensed(esmap.esmaps(marks.points[emb_idx], baseline,
                                                    reduce="pooled")),
    "pixels": ds.images[emb_idx].reshape(len(emb_idx), -1) / 255.0,
}
# quick mode (tests): t-SNE only; UMAP's first call compiles its numba code for about a minute
methods = ("tsne",) if QUICK else ("umap", "tsne")
rows, panels, panel_scores = [], {}, {}
for name, x in features.items():
    space = clusters.separation(clusters._reduce(x, 50, 0), y_emb)
    rows.append({"representation": name, "space": "PCA-50", **space})
    for method in methods:
        xy = clusters.embed(x, method, seed=0)
        s = clusters.separation(xy, y_emb)
        title = f"{name}, {method.upper() if method == 'umap' else 't-SNE'}"
        panels[title], panel_scores[title] = xy, s
        rows.append({"representation": name, "space": title.split(", ")[1], **s})
separation = pd.DataFrame(rows).set_index(["representation", "space"])
separation.round(3)"""),
figure_code("""fig = clusters.plot_embeddings(panels, y_emb, scores=panel_scores)
book.figure("esmap_embeddings", fig)"""),
caption("esmap_embeddings", """PublicTest faces embedded in two dimensions from their pooled ES-MAPs
and from their pixels, coloured by emotion; each panel gives its silhouette and 15-nearest-
neighbour accuracy."""),
code("""knn = separation["knn_accuracy"]
book.glue("knn_esmap", f"{100 * knn['ES-MAP (pooled)', 'PCA-50']:.1f} %")
book.glue("knn_pixels", f"{100 * knn['pixels', 'PCA-50']:.1f} %")
book.glue("knn_chance", f"{100 * separation['chance'].iloc[0]:.1f} %")
book.glue("sil_esmap", f"{separation.loc[('ES-MAP (pooled)', 'PCA-50'), 'silhouette']:.3f}")
book.glue("sil_pixels", f"{separation.loc[('pixels', 'PCA-50'), 'silhouette']:.3f}")
if not ds.is_sample and not QUICK:
    # the reading in the text below: neighbours agree on emotion far more often in ES-MAP space
    assert knn["ES-MAP (pooled)", "PCA-50"] > knn["pixels", "PCA-50"] + 0.1"""),
md(r"""Both silhouettes are close to zero ({glue:text}`sil_esmap` for ES-MAPs,
{glue:text}`sil_pixels` for pixels): neither representation forms compact clusters per
emotion, whatever the pictures suggest. Neighbourhoods tell a clearer story: the 15 nearest
ES-MAPs share the emotion often enough to classify {glue:text}`knn_esmap` of faces correctly,
pixels {glue:text}`knn_pixels`, with {glue:text}`knn_chance` for the most frequent class. So
the paper's qualitative claim holds in this sense — emotion is far more local in ES-MAP space
than in pixel space — but "clusters" overstates it."""),
md(r"""## Full, pooled or rendered: what each map costs and gives

A full ES-MAP has 468×468 values (109,278 distinct ones: it is symmetric), 0.9 MB in float32.
For all of FER-2013 that is {glue:text}`full_gb` GB, which is why `fer_utils.mapnet` makes
full maps on the fly from the cached landmarks instead of storing them. Two reductions keep
about 1 % of the values: the 52×52 **pooled** map (the mean of each 9×9 block) and the reference
code's **rendering** of the map as a ~62×62 colour image. The benchmark
(`scripts/benchmark_esmap.py`) measured what each costs. What each gives is measured here as
above: 15-NN accuracy after PCA to 50 dimensions, on the same PublicTest faces."""),
code("""# measured by scripts/benchmark_esmap.py (committed; the Benchmarks appendix shows all of it)
speed = json.loads((paths.repo_root() / "data" / "benchmarks" / "esmap.json").read_text())
forms = {}
for form in ("full", "pooled", "reference"):
    maps = esmap.esmaps(marks.points[emb_idx], baseline, reduce=form)
    x = maps.reshape(len(maps), -1) / 255.0 if form == "reference" else esmap.condensed(maps)
    del maps
    cost = speed["esmaps"][form]
    forms[form] = {"values per map": x.shape[1], "KB per map": cost["bytes_per_map"] / 1e3,
                   "ms per map": cost["ms_per_face"],
                   "GB for FER-2013": cost["bytes_per_map"] * len(ds) / 1e9,
                   "15-NN accuracy": clusters.separation(clusters._reduce(x, 50, 0),
                                                         y_emb)["knn_accuracy"]}
    del x
forms = pd.DataFrame(forms).T.astype({"values per map": int})
knn_forms = forms["15-NN accuracy"]
book.glue("full_gb", f"{forms.loc['full', 'GB for FER-2013']:.0f}")
for form in forms.index:
    book.glue(f"knn_form_{form}", f"{100 * knn_forms[form]:.1f} %")
book.glue("knn_form_spread", f"{100 * (knn_forms.max() - knn_forms.min()):.1f}")
p = knn_forms.mean()
se = np.sqrt(p * (1 - p) / len(emb_idx))  # of one accuracy estimate on these faces
book.glue("knn_form_se", f"{100 * se:.1f}")
for form in forms.index:
    book.glue(f"ms_form_{form}", f"{forms.loc[form, 'ms per map']:.1f}")
if not ds.is_sample and not QUICK:
    # the reading below: the full map is best, and the reductions lose only a few points
    assert knn_forms["full"] == knn_forms.max() and knn_forms.max() - knn_forms.min() < 0.05
    assert knn_forms.max() - knn_forms.min() < 3 * se
forms.round({"KB per map": 1, "GB for FER-2013": 1, "15-NN accuracy": 3})"""),
md(r"""Neighbours in the full map agree on the emotion for {glue:text}`knn_form_full` of the faces,
in the pooled map for {glue:text}`knn_form_pooled` and in the rendering for
{glue:text}`knn_form_reference`. The spread is {glue:text}`knn_form_spread` points, while the
standard error of each estimate is about {glue:text}`knn_form_se` points: keeping 1 % of the
values loses at most a little of the maps' neighbourhood structure. The pooled map is made from the full
one, so it costs a little more to compute ({glue:text}`ms_form_pooled` ms against
{glue:text}`ms_form_full` ms), and much less than the rendering ({glue:text}`ms_form_reference`
ms), which draws each map as three colour bytes per pixel of a clipped colour scale. Table I
below trains ESH-Net on both reductions."""),
md(r"""## A sanity baseline: a linear model on distances

Before any CNN: how far does a linear classifier get? Standardise, PCA to 100 components,
logistic regression, trained on Training and tested once on PrivateTest (detected faces)."""),
code("""n_probe = 800 if QUICK else None
tr_idx = np.flatnonzero(train)
tr_idx = tr_idx if n_probe is None else np.sort(rng.choice(tr_idx, n_probe, replace=False))
te_idx = np.flatnonzero((ds.usage == "PrivateTest") & marks.found)
te_idx = te_idx if not QUICK else te_idx[:300]
probe_inputs = {
    "ES-MAP, pooled 52×52": lambda i: esmap.condensed(esmap.esmaps(marks.points[i], baseline,
                                                                     reduce="pooled")),
    "distances, pooled (no baseline)": lambda i: esmap.condensed(esmap.pool_maps(
        esmap.pairwise_distances(marks.points[i]))),
    "pixels 48×48": lambda i: ds.images[i].reshape(len(i), -1) / 255.0,
}
probe = {}
for name, f in probe_inputs.items():
    x_tr = np.concatenate([f(tr_idx[s:s + 2000]) for s in range(0, len(tr_idx), 2000)])
    m = clusters.linear_probe(x_tr, ds.labels[tr_idx], f(te_idx), ds.labels[te_idx])
    probe[name] = {"accuracy": m["accuracy"], "macro F1": m["macro_f1"]}
probe = pd.DataFrame(probe).T
book.glue("probe_esmap", f"{100 * probe.loc['ES-MAP, pooled 52×52', 'accuracy']:.1f} %")
book.glue("probe_pixels", f"{100 * probe.loc['pixels 48×48', 'accuracy']:.1f} %")
book.glue("probe_dist", f"{100 * probe.loc['distances, pooled (no baseline)', 'accuracy']:.1f} %")
from fer_utils import train as T
cnn = T.find_artifact(T.TrainConfig.named("ablation/cnn-d4-s0"), T.DataRef.official_fer2013(),
                      root=paths.artifacts_dir(committed=True))   # Chapter 3's committed model
assert cnn is not None, "Chapter 3's artifacts are committed with the book"
book.glue("ch3_cnn_acc", f"{100 * cnn.metrics['PrivateTest']['accuracy']:.0f} %")
probe.round(3)"""),
md(r"""A linear model on pooled ES-MAPs reaches {glue:text}`probe_esmap` on PrivateTest's
detected faces, on raw pooled distances {glue:text}`probe_dist` (subtracting a single global
baseline is a constant shift, which a linear model absorbs), and on pixels only
{glue:text}`probe_pixels`. Landmark geometry is a strong, nearly linear summary of expression;
pixels need a CNN's non-linearity (Chapter 3's depth-4 CNN reached {glue:text}`ch3_cnn_acc`)."""),
md(r"""## ESH-Net, ConvNet and ResNet-50: seed 000's Table I

`fer_utils.mapnet` trains each model on ES-MAPs and on face images of the same detected faces,
under the paper's protocol (random 30 % train / 70 % test, fixed epochs) and the course's
(FER-2013 splits, early stopping on PublicTest). `scripts/run_esmap.sh` ran every configuration of
`mapnet.table_configs()` once and committed its metrics under `data/esmap/`; here they are
loaded (or, when missing, trained).

The paper's settings (10 runs of 100 epochs per cell, a full-width ConvNet, ResNet-50 on every
face) would take about 13 hours on this machine's two cores, so the grid is smaller and says so:
3 runs per ESH-Net cell (10 epochs under the paper's protocol; under FER-2013's, 10,000
training faces and early stopping within 15 epochs, and one run of the pooled map), one run of
a quarter-width ConvNet, and ResNet-50 only as a smoke test on 3,000 faces for 3 epochs (its
row is not a result). The `mapnet.table_configs`
docstring gives the measured costs behind these choices."""),
code("""configs = mapnet.table_configs()
if QUICK:  # two ESH-Net runs (the reference map on the paper's split, the face image on
    # FER-2013's), 2 epochs on 600 images: every input and protocol path, not the results
    wanted = {("esmap-reference", "random-30-70"), ("image", "fer2013")}
    configs = [c for c in configs if c.model == "esh_net" and c.seed == 0
               and (c.input, c.protocol) in wanted]
    assert len(configs) == 2
results = []
for config in configs:
    art = mapnet.load_or_run(config, ds, marks, progress=False)  # committed, or train it
    m = art.metrics
    results.append({"model": config.model, "input": config.input, "protocol": config.protocol,
                    "seed": config.seed, "test faces": m["test"]["n"],
                    "accuracy": m["test"]["accuracy"],
                    "accuracy (undetected = wrong)": m["test_all"]["accuracy"],
                    "macro F1": m["test"]["macro_f1"], "params": m["params"],
                    "epochs": m["epochs_trained"], "s/epoch": m["seconds_per_epoch"],
                    "classes predicted": int(np.count_nonzero(
                        np.sum(m["test"]["confusion"], axis=0)))})
results = pd.DataFrame(results)
summary = (results.groupby(["protocol", "model", "input"])
           .agg(runs=("seed", "size"), accuracy=("accuracy", "mean"),
                sd=("accuracy", "std"), end_to_end=("accuracy (undetected = wrong)", "mean"),
                params=("params", "first"), s_per_epoch=("s/epoch", "mean")))
summary.round(3)"""),
code("""paper = sources.SEED000_TABLE1["FER-2013"]
names = {"esh_net": "ESH-Net", "convnet4": "ConvNet", "resnet50": "ResNet50"}
rows = []
for (protocol, model, inp), r in summary.iterrows():
    key = "esmap" if inp.startswith("esmap") else "image"
    pub = paper[names[model]][key]
    sd = r["sd"]
    rows.append({"protocol": protocol, "model": names[model], "input": inp,
                 "ours": (f"{100 * r['accuracy']:.1f} ± {100 * sd:.1f} % ({int(r['runs'])} runs)"
                          if r["runs"] > 1 else f"{100 * r['accuracy']:.1f} % (1 run)"),
                 "seed 000": "n/a" if pub is None else f"{100 * pub[0]:.0f} ± {100 * pub[1]:.0f} %"})
table1 = pd.DataFrame(rows).set_index(["protocol", "model", "input"])
table1"""),
glued_code("""from IPython.display import Markdown

def mean_of(model, inp, protocol, column="accuracy"):
    r = results[(results.model == model) & (results.input == inp) & (results.protocol == protocol)]
    return (float(r[column].mean()), len(r)) if len(r) else (None, 0)

def compare(gap):
    return ("ES-MAPs beat face images" if gap > 1 else "face images beat ES-MAPs" if gap < -1
            else "ES-MAPs and face images are level")

paper_gap = 100 * (paper["ESH-Net"]["esmap"][0] - paper["ESH-Net"]["image"][0])
sentences = []
for protocol, label in (("random-30-70", "the paper's random 30/70 split"),
                        ("fer2013", "the FER-2013 protocol")):
    (e, n_e), (i, _) = (mean_of("esh_net", "esmap-reference", protocol),
                        mean_of("esh_net", "image", protocol))
    if e is None or i is None:
        continue
    gap = 100 * (e - i)
    book.glue("gap_" + ("paper" if protocol == "random-30-70" else "fer"), f"{gap:+.1f}")
    verdict = compare(gap)
    sentences.append(f"Under {label}, ESH-Net reaches {100 * e:.1f} % on the reference ES-MAPs "
                     f"({n_e} run{'s' if n_e > 1 else ''}) and {100 * i:.1f} % on the same faces' "
                     f"images: {verdict} by {abs(gap):.1f} points (seed 000: {paper_gap:+.0f}).")
    e_all, _ = mean_of("esh_net", "esmap-reference", protocol, "accuracy (undetected = wrong)")
    sentences.append(f"Counting the faces Face Mesh missed as errors, as a deployed system must, "
                     f"the ES-MAP figure is {100 * e_all:.1f} %.")
assert QUICK or len(sentences) == 4, "both protocols have ES-MAP and image runs"
if not QUICK:  # the summary: ES-MAPs ahead of images under both protocols
    for protocol in ("random-30-70", "fer2013"):
        assert (mean_of("esh_net", "esmap-reference", protocol)[0]
                > mean_of("esh_net", "image", protocol)[0] + 0.01)
others, probe_note = [], ""
(ce, _), (ci, _) = (mean_of("convnet4", "esmap-reference", "random-30-70"),
                    mean_of("convnet4", "image", "random-30-70"))
if ce is not None and ci is not None:
    pub = paper["ConvNet"]
    gap, pub_gap = 100 * (ce - ci), 100 * (pub["esmap"][0] - pub["image"][0])
    phrase = compare(gap) + ("" if abs(gap) <= 1 else f" by {abs(gap):.1f} points")
    same = compare(gap) == compare(pub_gap)
    others.append(f"The quarter-width ConvNet, on the paper's split, reaches {100 * ce:.1f} % on "
                  f"ES-MAPs and {100 * ci:.1f} % on images: {phrase}. Seed 000's full-width "
                  f"ConvNet had {100 * pub['esmap'][0]:.0f} % and {100 * pub['image'][0]:.0f} %"
                  + (", the same verdict." if same else f": {compare(pub_gap)}."))
(re_, _), (ri, _) = (mean_of("resnet50", "esmap-reference", "fer2013"),
                      mean_of("resnet50", "image", "fer2013"))
if re_ is not None and ri is not None:
    majority = np.bincount(ds.labels[te_idx], minlength=7).max() / len(te_idx)
    rc = next(c for c in mapnet.table_configs() if c.model == "resnet50")
    n_classes = sorted(set(results.loc[results.model == "resnet50", "classes predicted"]))
    assert max(n_classes) <= 2, "the text below explains a ResNet-50 that answers one class"
    others.append(f"ResNet-50, trained from scratch on {rc.train_limit:,} faces for at most "
                  f"{rc.epochs} epochs, reaches "
                  f"{100 * re_:.1f} % on ES-MAPs and {100 * ri:.1f} % on images, against "
                  f"{100 * majority:.1f} % for always answering the most frequent class, and "
                  + ("answers a single emotion for every test face." if n_classes == [1] else
                     f"uses only {' or '.join(map(str, n_classes))} of the 7 emotions.")
                  + " It shows that the pipeline runs, not how ResNet-50 compares.")
assert QUICK or len(others) == 2, "the ConvNet and ResNet-50 runs are committed"
esh_fer = results[(results.model == "esh_net") & (results.protocol == "fer2013")
                  & results.input.str.startswith("esmap")]
if len(esh_fer):
    best = esh_fer.loc[esh_fer.accuracy.idxmax()]
    lin = probe.loc["ES-MAP, pooled 52×52", "accuracy"]
    limit = next(c.train_limit for c in mapnet.table_configs()
                 if c.model == "esh_net" and c.protocol == "fer2013")
    book.glue("best_esh_fer", f"{100 * best.accuracy:.1f} %")
    probe_note = (f"On the same {len(te_idx):,} PrivateTest faces, the linear probe above, trained "
                  f"on all {len(tr_idx):,} detected Training faces, reaches {100 * lin:.1f} %: "
                  f"{100 * (lin - best.accuracy):+.1f} points against the best ESH-Net run "
                  f"({100 * best.accuracy:.1f} %, {best.input}), which trained on {limit:,} "
                  "of them.")
    if not QUICK:  # the same faces, and the summary's reading: the probe is ahead
        assert (esh_fer["test faces"] == len(te_idx)).all()
        assert lin > results.loc[results.input.str.startswith("esmap"), "accuracy"].max()
reading = "\\n\\n".join(p for p in (" ".join(sentences), " ".join(others), probe_note) if p)
book.glue("table1_reading", Markdown(reading or "No ESH-Net results yet."))
Markdown(reading)"""),
md(r"""### Reading Table I

```{glue:md} table1_reading
:format: myst
```

A network of 23 million parameters, trained from scratch for a few hundred steps, commonly
answers one class for every test face even while its training accuracy climbs. In training,
batch normalisation uses each batch's own statistics; at test time it uses running averages
that move only 1 % per step and have not yet settled. The ResNet-50 rows are therefore not a
comparison between inputs, and the chapter draws no conclusion from them.

Four differences between seed 000's setting and ours bear on the comparison, and the table
cannot separate them:

* **Undetected faces.** The reference code skips an image when Face Mesh finds no face and
  never counts it, so its accuracy is over detected faces only; a face that defeats the
  landmark detector is usually a hard face (turned, occluded, dark). Table I's "ours" column is
  also over detected faces, for a fair comparison with the paper; the end-to-end figures above
  put the misses back.
* **The baseline.** The reference code averages the *test* folder's neutral faces into the
  baseline that every map is measured against; ours uses training neutrals only. A single global
  baseline is a constant shift of every map, so the leak is small for a CNN, but it is a leak.
* **Downsampled maps.** The reference CNN sees the 468×468 map rendered into about 62×62
  coloured pixels with a colour scale clipped at ±0.1: most landmark pairs share a pixel with
  dozens of others. The pooled 52×52 map of the FER-2013-protocol rows keeps the same amount of
  data without the colour round trip.
* **Budget and split.** Seed 000 averages 10 runs of 100 epochs; we average
  fewer and shorter runs (see the `runs` column and the cut described above). Its random 30/70
  split also mixes FER-2013's three splits, and with them the byte-identical images that Chapter
  1 found across splits, so a test face can have a twin in training; the FER-2013 protocol keeps
  the official splits."""),
md(r"""## What the reference code changes, and what we changed back

| step | reference code | here |
|---|---|---|
| undetected faces | skipped, never counted | counted per split and class; wrong in the end-to-end accuracy |
| neutral baseline | mean of the *test* folder's neutral faces | mean of the *training* neutral faces (or per subject) |
| map given to the CNN | a 100×100 PNG with the heatmap in ~62×62 pixels, tick labels drawn in | arrays: the 62×62 rendering (to compare), a 52×52 pooled map, or the full map on the fly |
| validation | the test set | PublicTest (FER-2013 protocol) or none (paper protocol, fixed epochs) |
| distances | a Python double loop over MediaPipe's landmark objects ({glue:text}`ref_loop_ms` ms a face, timed here) | a compiled loop, each pair once, equal to 1e-7 ({glue:text}`vec_ms` ms a face: {glue:text}`speed_up`× faster) |
"""),
code("""# the benchmark loaded above (scripts/benchmark_esmap.py; the Benchmarks appendix shows all)
book.glue("speed_up", f"{speed['distances']['speed_up_vs_mediapipe_loop_one_face']:,}")
book.glue("ref_loop_ms", f"{speed['distances']['reference_loop_over_mediapipe_landmarks_ms']:.0f}")
book.glue("vec_ms", f"{speed['distances']['vectorised_ms_one_face']:.2f}")
pd.Series(speed["distances"], name="distances").to_frame()"""),
md(r"""## Summary

* Face Mesh finds {glue:text}`det_rate` of FER-2013's faces; the rest are counted, not skipped.
* ES-MAPs carry emotion: a nearest-consensus rule gets {glue:text}`cons_acc`, a 15-NN
  {glue:text}`knn_esmap` and a linear model {glue:text}`probe_esmap`, far above pixels with the
  same simple models.
* They do not form clusters in the usual sense (silhouette ≈ 0); the pictures of seed 000 need
  numbers beside them.
* A pooled 52×52 map keeps about 1 % of the full map's values and loses little of what it gives.
* A linear model on pooled maps ({glue:text}`probe_esmap`) beats every ES-MAP network trained
  here (best {glue:text}`best_esh_fer` on the same faces): under a CPU budget, the maps carry more
  than the networks learnt from them.
* ESH-Net does better on ES-MAPs than on the same faces' images under both protocols
  ({glue:text}`gap_paper` points on the paper's split, {glue:text}`gap_fer` on FER-2013's; seed
  000: +10), at lower accuracies than the paper reports, for the four reasons under Table I.

## Exercises

1. Fit the baseline on the *PrivateTest* neutral faces, as the reference code did, and recompute
   the linear probe. How much does the leak change the accuracy, and why is it small or large?

   ```{dropdown} Solution
   `esmap.fit_baseline(marks.points[te], ds.labels[te])` with `te` the PrivateTest faces with
   landmarks, then the probe cell with that baseline. A single global baseline is a constant
   shift of every map; a linear model absorbs most of it, so the number barely moves. The leak
   matters for the principle (test data shaping the inputs) more than for this number; with
   per-subject baselines built from test subjects it would matter more.
   ```

2. Replace the 9×9 pooling by 6×6 and 13×13 (`esmap.esmaps(..., reduce="pooled", pool=k)`, any
   divisor of 468) and rerun the 15-NN separation. Where does it stop improving?

   ```{dropdown} Solution
   Smaller pools keep more detail but give longer vectors (78² and 36² values). Plot the 15-NN
   accuracy against the pool size; PCA to 50 components first keeps the cost flat.
   ```

3. Count how many of the undetected faces are blank, how many are profile or occluded faces:
   show 20 of them with `viz.image_grid`.

   ```{dropdown} Solution
   `idx = np.flatnonzero(marks.status == landmarks.NO_FACE)`; a grid of `ds.images[idx[:20]]`.
   Looking at 32 random ones: nearly all are real faces — tilted or turned heads, tight crops
   that cut off the chin or forehead, hands over the mouth, dark or blurred images, babies —
   and only the odd one is not a face (a text placeholder). Undetected faces are hard faces, so
   leaving them out flatters every ES-MAP accuracy; that is why the table counts them.
   ```"""),
]
write(cells, "chapters/05_esmaps.ipynb")
