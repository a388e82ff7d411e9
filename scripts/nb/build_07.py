"""Writes chapters/07_masks_saliency.ipynb (cells kept here so the chapter can be regenerated)."""
from _notebook import caption, code, figure_code, md, setup_cell, write
cells = [
md(r"""# What does the network look at?

:::{admonition} Overview
:class: tip
**Questions.** Seed 001 {cite}`kroening_feeling` covered the forehead, the eyes or the nose and mouth
of every face and found that covering the mouth hurts a VGG-16 most (58 % → 43 %); its saliency
maps looked where people look. Does the same hold for our models under the course protocol?
And can we *measure* whether a saliency map is right, rather than admire it?

**You will** cover face regions by rows and by landmarks, train one model per mask and test the
unmasked model on covered faces (two different questions), compute four kinds of saliency map,
average them per emotion, and score them twice: against the model (does covering the salient
pixels hurt?) and against a ground truth (on the offline sample, where we know which region
carries each class).
:::

:::{admonition} Prerequisites
:class: note
| concept | why here | time to learn |
|---|---|---|
| Chapter 3 (the depth-4 CNN, the protocol) | the model every experiment here uses | — |
| Chapter 5 (Face Mesh landmarks, regions) | the landmark masks | — |
| Gradients of a network's output w.r.t. its input | saliency maps | 20 min |
:::
"""),
setup_cell(),
code("""import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fer_utils import book, data, landmarks, masks, metrics, paths, runtime, saliency, sources, train
from fer_utils.sample import CLASS_REGIONS, REGION_NAMES, make_sample

book.setup(seed=0)
ds = data.load_fer2013().for_runtime()  # quick mode (tests): a small subset of the real data
book.show_source(ds)
QUICK = runtime.quick_mode()
NAMES = list(data.CLASS_NAMES)
# quick mode (tests): two of the six masks, on a small subset of the test faces
MASK_SET = ("none", "mouth", "lm-mouth") if QUICK else masks.MASKS"""),
md(r"""## Covering part of a face

Seed 001's masks are bands of image rows: the top quarter (forehead), the second quarter (eyes
and brows) and the bottom half (nose and mouth). They assume every face sits at the same place
in its image, which FER-2013's faces roughly do. The course adds masks that follow each face:
the convex hull of the Face Mesh landmarks of the region (Chapter 5), widened a little. A face
without landmarks gets the band mask instead, and is counted."""),
figure_code("""marks = landmarks.dataset_landmarks(ds.images)
test = np.flatnonzero(ds.usage == "PrivateTest")
example = test[np.flatnonzero(marks.found[test])[3]]
fig = masks.mask_figure(ds.images[example], marks.points[example])
book.figure("mask_examples", fig)"""),
caption("mask_examples", """One PrivateTest face under each mask: seed 001's three bands of rows
(top) and the course's landmark masks, the widened convex hulls of the Face Mesh landmarks of
each region (bottom)."""),
code("""coverage = {}
for name in masks.MASKS[1:]:
    ms = masks.region_masks(name, len(test), 48, marks.points[test])
    coverage[masks.LABELS[name]] = {"covered (mean)": ms.covered.mean(),
                                    "fell back to the band": ms.n_fallback}
coverage = pd.DataFrame(coverage).T
book.glue("lm_fallback", f"{int(coverage['fell back to the band'].max()):,}")
book.glue("lm_mouth_cover", f"{100 * coverage.loc[masks.LABELS['lm-mouth'], 'covered (mean)']:.0f} %")
assert coverage.loc[masks.LABELS["lm-mouth"], "covered (mean)"] < 0.5  # the text: less than its band
coverage.round(3)"""),
md(r"""A landmark mask covers less than its band: the nose-and-mouth hull covers
{glue:text}`lm_mouth_cover` of the image where the band covers half. On PrivateTest,
{glue:text}`lm_fallback` faces had no landmarks and fell back to the band."""),
md(r"""## Two questions, two experiments

* **Masked testing:** train on whole faces, test on covered ones. *How much does this model rely
  on the region?* A model that never saw a covered face may fail for reasons that have nothing to
  do with the region (the black band itself is unlike anything it has seen).
* **Masked training:** train and test with the same mask (seed 001's experiment). *How much
  emotion information is left without the region?* The model can learn to use what remains.

The model is Chapter 3's depth-4 CNN (`ablation/cnn-d4-s0`, the unmasked model, and
`masks/cnn-d4-s0-<mask>`, identical except for the mask). Seed 001 used VGG-16 at 128×128 on a
GPU; on two CPU cores, six more VGG-16 trainings are out of reach, and the question — which
region matters — does not need the larger network."""),
code("""# Chapter 3's committed model; trained only where it is missing (quick mode: one short epoch)
base = train.load_or_train(train.TrainConfig.named("ablation/cnn-d4-s0"), ds,
                           quick={"epochs": 1, "train_limit": 800}, progress=False)
base_model = base.load_model()
rows = {}
for name in MASK_SET:
    m = train.evaluate_model(base_model, ds, "PrivateTest", mask=name)
    rows[masks.LABELS[name]] = m
tested = pd.DataFrame({k: {"accuracy": v["accuracy"], "weighted F1": v["weighted_f1"]}
                       for k, v in rows.items()}).T
tested.round(3)"""),
code("""trained_rows = {masks.LABELS["none"]: base.metrics}
for name in MASK_SET[1:]:
    art = train.load_or_train(train.TrainConfig.named(f"masks/cnn-d4-s0-{name}"), ds,
                              quick={"epochs": 1, "train_limit": 800}, progress=False)
    trained_rows[masks.LABELS[name]] = art.metrics
    assert art.metrics.get("mask", {}).get("name") == name

def seed001_style(rows):
    out = {}
    for label, m in rows.items():
        pc = m["PrivateTest"]["per_class"] if "PrivateTest" in m else m["per_class"]
        acc = m["PrivateTest"]["accuracy"] if "PrivateTest" in m else m["accuracy"]
        out[(label, "accuracy")] = {"overall": acc, **{c: pc[c]["recall"] for c in NAMES}}
        f1 = m["PrivateTest"]["weighted_f1"] if "PrivateTest" in m else m["weighted_f1"]
        out[(label, "(weighted) F1")] = {"overall": f1, **{c: pc[c]["f1"] for c in NAMES}}
    return pd.DataFrame(out).T

trained = seed001_style(trained_rows)
(100 * trained).round(1)"""),
md(r"""The table has seed 001's form (its Table 2): per mask, overall accuracy and weighted F1,
and per class the accuracy (recall) and F1 on PrivateTest. Seed 001's numbers come from its
own test split at 128×128 with VGG-16; ours from PrivateTest at 48×48 with the depth-4 CNN."""),
code("""paper = sources.SEED001_TABLES["VGG-16"]
simple = [m for m in ("none", "forehead", "eyes", "mouth") if m in MASK_SET]
compare = pd.DataFrame({
    "seed 001 (VGG-16, trained with mask)": {masks.LABELS[m]: paper[m]["accuracy"] for m in simple},
    "ours, trained with mask": {masks.LABELS[m]: trained.loc[(masks.LABELS[m], "accuracy"), "overall"]
                                for m in MASK_SET},
    "ours, tested with mask only": tested["accuracy"].to_dict(),
})
drops = compare.sub(compare.loc[masks.LABELS["none"]], axis=1)
ours = drops["ours, trained with mask"].drop(masks.LABELS["none"])
worst = ours.idxmin()
book.glue("worst_mask", worst)
book.glue("worst_drop", f"{-100 * ours.min():.1f}")
book.glue("base_acc", f"{100 * compare.iloc[0, 1]:.1f} %")
test_drop = drops["ours, tested with mask only"].drop(masks.LABELS["none"])
book.glue("worst_test_mask", test_drop.idxmin())
book.glue("worst_test_drop", f"{-100 * test_drop.min():.1f}")
book.glue("mouth_trained", f"{100 * compare.loc[masks.LABELS['mouth'], 'ours, trained with mask']:.1f} %")
book.glue("mouth_tested", f"{100 * compare.loc[masks.LABELS['mouth'], 'ours, tested with mask only']:.1f} %")
if not QUICK and not ds.is_sample:
    # the reading in the text below; if a full run contradicts it, the text must change
    assert test_drop.min() < ours.min(), "masked testing no longer hurts more than masked training"
(100 * compare).round(1)"""),
figure_code("""fig, ax = plt.subplots(figsize=(8.5, 3.4))
(100 * drops.drop(masks.LABELS["none"])).plot.barh(ax=ax)
ax.axvline(0, color="k", lw=0.8)
ax.set_xlabel("change of accuracy vs no mask (points)")
ax.invert_yaxis()
ax.legend(fontsize=8, loc="lower left")
book.figure("mask_drops", fig)"""),
caption("mask_drops", """Accuracy lost on PrivateTest with each mask, against the unmasked
model: seed 001's VGG-16 trained with the mask (its own test split, 128×128), our depth-4 CNN
trained with the mask, and our unmasked CNN tested on masked faces it never saw in training."""),
md(r"""Trained with each mask, the model loses most with *{glue:text}`worst_mask`* covered
({glue:text}`worst_drop` points below the unmasked {glue:text}`base_acc`). Tested with a mask it
never saw, the unmasked model loses far more, most with *{glue:text}`worst_test_mask`*
({glue:text}`worst_test_drop` points): with the bottom half covered it reaches
{glue:text}`mouth_tested`, while a model trained that way reaches {glue:text}`mouth_trained`.
The difference is the answer to "which question?": a deployed model meeting face masks it was
not trained for fails much worse than seed 001's masked-training numbers suggest."""),
md(r"""## Saliency maps

Four ways to ask the trained (unmasked) model which pixels its decision depends on
(`fer_utils.saliency`):

| method | what it computes | cost per face |
|---|---|---|
| vanilla gradients {cite}`simonyan2013saliency` | $\lvert\partial p_c / \partial x\rvert$: how fast the class probability changes with each pixel | one backward pass |
| SmoothGrad {cite}`smilkov2017smoothgrad` | gradients averaged over noisy copies of the face | 25 backward passes |
| Grad-CAM {cite}`selvaraju2017gradcam` | the last convolutional layer's feature maps, weighted by their mean gradient, upsampled | one backward pass |
| occlusion {cite}`zeiler2014visualizing` | the drop of $p_c$ when an 8×8 patch is covered, averaged per pixel | one forward pass per patch (121) |

A single picked example says little; below, each map is averaged over many correctly classified
PrivateTest faces of each emotion."""),
code("""per_class = 15 if QUICK else 80
chosen = test[saliency.correct_per_class(base_model, ds.images[test], ds.labels[test], per_class)]
x, y = ds.images[chosen], ds.labels[chosen]
maps = {
    "gradients": saliency.gradients(base_model, x, y),
    "SmoothGrad": saliency.smoothgrad(base_model, x, y, samples=8 if QUICK else 25),
    "Grad-CAM": saliency.grad_cam(base_model, x, y),
    "occlusion": saliency.occlusion(base_model, x, y, patch=8, stride=4),
}
gc_layer = saliency.find_layer(base_model)[0]
raw_conv = [p for p in saliency.conv_layers(base_model) if p.startswith("conv")][-1]
def empty_share(m):
    return float((m.reshape(len(m), -1).max(axis=1) <= 0).mean())
empty_raw = empty_share(saliency.grad_cam(base_model, x, y, layer=raw_conv))
book.glue("gc_layer", gc_layer)
book.glue("gc_raw_layer", raw_conv)
book.glue("gc_empty_raw", f"{100 * empty_raw:.0f} %")
book.glue("gc_empty", f"{100 * empty_share(maps['Grad-CAM']):.0f} %")
assert empty_share(maps["Grad-CAM"]) <= empty_raw
print(f"{len(chosen):,} correctly classified PrivateTest faces; Grad-CAM layer: {gc_layer}")"""),
md(r"""Grad-CAM explains the layer *{glue:text}`gc_layer`*: the last convolution *after* its batch
norm and ReLU, where the feature maps are the rectified ones the method assumes. Taken at the
raw convolution *{glue:text}`gc_raw_layer`*, where batch norm can still flip signs, the
gradient-weighted sum is often negative everywhere and Grad-CAM, which keeps only the positive
part, returns an empty map: {glue:text}`gc_empty_raw` of the maps were all zero there, against
{glue:text}`gc_empty` here. Library defaults differ on this point; check which layer a tool
explains before reading its pictures."""),
figure_code("""fig = saliency.average_figure(maps, x, y)
book.figure("saliency_averages", fig)"""),
caption("saliency_averages", """Each panel shows one method's average map for one emotion (rows:
methods; columns: emotions, n faces each) over the average face of the correctly classified
PrivateTest faces it was computed on.""", after="""Where the maps agree, the pictures are easy to
read; where they do not, the next two sections decide between them."""),
md(r"""## Are the maps faithful to the model?

If a map marks the pixels the model needs, covering those pixels should hurt more than covering
as many random pixels. We cover the 10 % most salient pixels of each face (set to black, like the
masks) and measure the accuracy; the random version covers 10 % chosen at random. The deletion
curve goes further: cover the most salient pixels in steps of 10 % and follow the class
probability; a faithful map makes it fall fast (small area under the curve)
{cite}`petsiuk2018rise`."""),
code("""faith, curves = {}, {}
for method, m in maps.items():
    faith[method] = saliency.masking_drop(base_model, x, y, m, fraction=0.1)
    curves[method] = saliency.deletion_curve(base_model, x, m, y, steps=10)
rand = saliency.random_maps(x.shape)
curves["random"] = saliency.deletion_curve(base_model, x, rand, y, steps=10)
faith = pd.DataFrame(faith).T
faith["area under deletion curve"] = {k: float(np.trapz(p, f)) for k, (f, p) in curves.items()
                                      if k != "random"}
auc_random = float(np.trapz(curves["random"][1], curves["random"][0]))
best = faith["salient covered"].idxmin()
book.glue("faith_best", best)
book.glue("faith_best_acc", f"{100 * faith.loc[best, 'salient covered']:.0f} %")
book.glue("faith_random_acc", f"{100 * faith['random covered'].mean():.0f} %")
book.glue("auc_random", f"{auc_random:.2f}")
assert (faith["intact"] == 1.0).all()  # only correctly classified faces were chosen
faith.round(3)"""),
figure_code("""fig, ax = plt.subplots(figsize=(5.5, 3.4))
for k, (f, p) in curves.items():
    ax.plot(100 * f, p, marker=".", ls="--" if k == "random" else "-", label=k)
ax.set_xlabel("most salient pixels covered (%)")
ax.set_ylabel("mean probability of the true class")
ax.legend(fontsize=8)
book.figure("deletion_curves", fig)"""),
caption("deletion_curves", """Deletion curves: the mean probability of the true class as the most
salient pixels of each face are covered in steps of 10 %, per method, and for a random order of
pixels (dashed). A faithful map makes the curve fall fast."""),
md(r"""All chosen faces are classified correctly when intact. Covering the 10 % of pixels that
*{glue:text}`faith_best`* marks leaves {glue:text}`faith_best_acc` of them correct, against about
{glue:text}`faith_random_acc` when 10 % random pixels are covered; the table and the deletion
curves (random: area {glue:text}`auc_random`) rank the other methods."""),
md(r"""## Do saliency and masking agree on the regions?

The masks asked the same question region by region. The share of each method's saliency mass
that falls in each band of rows can be set beside the accuracy the model loses when that band
is covered at test time:"""),
code("""bands = pd.DataFrame({method: saliency.row_profile(m) for method, m in maps.items()})
bands.index = [masks.LABELS[b] for b in bands.index]
bands["accuracy lost when covered (tested)"] = -drops["ours, tested with mask only"].reindex(bands.index)
band_rank = bands.rank(ascending=False)
agree = {method: bool((band_rank[method] == band_rank["accuracy lost when covered (tested)"]).all())
         for method in maps}
book.glue("n_agree", f"{sum(agree.values())} of {len(agree)}")
bands.round(3)"""),
md(r"""The bottom half holds half the pixels, so its share of saliency is large by geometry alone
(a uniform map gives 0.25 / 0.25 / 0.5). {glue:text}`n_agree` methods rank the three bands in the
same order as the accuracy lost by covering them."""),
md(r"""## A ground truth: the offline sample

On real faces nobody knows which pixels *should* matter. The course's offline sample knows: each
drawn face carries its class in known regions (a smile moves the mouth and the eyes, anger the
brows, eyes and mouth; `fer_utils.sample.CLASS_REGIONS`), and every image comes with its region
map. We train the same CNN on the sample and score each method by the share of its saliency
mass inside the true regions (chance: the regions' share of the image) and by the *pointing
game* — whether the map's maximum falls inside them."""),
code("""sample = ds if ds.is_sample else make_sample()
if ds.is_sample:
    sample_art = base  # the chapter already runs on the sample
else:  # about 1.5 minutes; kept in the cache, since committed artifacts are real-data runs
    sample_art = train.train(train.TrainConfig.named("ablation/cnn-d4-s0").for_runtime(), sample,
                             root=paths.cache_dir() / "sample-artifacts", progress=False)
sample_model = sample_art.load_model()
true = sample.extras["true_labels"]
s_test = np.flatnonzero((sample.usage == "PrivateTest") & (true != NAMES.index("neutral")))
s_pred = train.predict_proba(sample_model, sample.images[s_test]).argmax(1)
right = s_test[s_pred == true[s_test]]
right = right[:100] if QUICK else right
region_ids = {n: i for i, n in enumerate(REGION_NAMES)}
truth = np.stack([np.isin(sample.extras["regions"][i],
                          [region_ids[r] for r in CLASS_REGIONS[NAMES[true[i]]]]) for i in right])
sx, sy = sample.images[right], true[right]
s_maps = {
    "gradients": saliency.gradients(sample_model, sx, sy),
    "SmoothGrad": saliency.smoothgrad(sample_model, sx, sy, samples=8 if QUICK else 25),
    "Grad-CAM": saliency.grad_cam(sample_model, sx, sy),
    "occlusion": saliency.occlusion(sample_model, sx, sy, patch=8, stride=4),
    "random": saliency.random_maps(sx.shape),
}
ground = pd.DataFrame({method: {"mass inside true regions": np.nanmean(saliency.mass_inside(m, truth)),
                                "pointing game": saliency.pointing_game(m, truth).mean()}
                       for method, m in s_maps.items()}).T
ground.loc["chance (region share of image)"] = [truth.mean(), truth.mean()]
book.glue("sample_acc", f"{100 * sample_art.metrics['PrivateTest']['accuracy']:.1f} %")
book.glue("sample_n", f"{len(right):,}")
gt_best = ground.drop(["random", "chance (region share of image)"])["mass inside true regions"].idxmax()
book.glue("gt_best", gt_best)
book.glue("gt_best_mass", f"{ground.loc[gt_best, 'mass inside true regions']:.2f}")
book.glue("gt_chance", f"{truth.mean():.2f}")
ground.round(3)"""),
md(r"""The CNN reaches {glue:text}`sample_acc` on the sample's PrivateTest (against its noisy
single-annotator labels); on the {glue:text}`sample_n` correctly classified non-neutral faces,
*{glue:text}`gt_best`* puts the largest share of its mass inside the regions that carry the
class ({glue:text}`gt_best_mass`, chance {glue:text}`gt_chance`)."""),
md(r"""## Against human emotion maps

Seed 001 set its saliency maps beside the human emotion-region maps of Liu et al.
{cite}`liu_valence_arousal` and compared them by eye: both of its models weighted the central
face and cheekbones for anger, as people do, while VGG-16 also used the forehead, which a
human-based reading does not expect; and the large overlap of disgust and anger in the human
maps may explain why its models confused the two. Our per-emotion averages can be read the same
way, with two cautions. They are *averages over correctly classified faces*, the faces on which
the model's strategy worked. And a map that resembles human intuition is not thereby faithful to
the model: the deletion curves and the ground-truth scores above are tests; a resemblance is
not."""),
md(r"""## VGG-16 and ResNet-50

Seed 001's own models were VGG-16 (with batch normalisation and dropout added to its head) and
ResNet-50, trained from scratch at 128×128 on a GPU. On two CPU cores one epoch of VGG-16 over
all 28,709 training faces at 48×48 takes about half an hour, so the course trains both in a
*CPU-sized configuration* (`fer_utils/configs/saliency/`, described in its README): seed 001's
optimiser (Adam, learning rate 1e-4, batch 32, patience 3), but 48×48 input, 8,000 stratified
training faces and at most 5 epochs, with no ImageNet weights (none can be downloaded here).
These are small honest versions, not reproductions of seed 001's numbers."""),
code("""BIG = {"VGG-16 (BN + dropout)": "saliency/vgg16-bn-dropout-8k", "ResNet-50": "saliency/resnet50-8k"}
SEED001_NAME = {"VGG-16 (BN + dropout)": "VGG-16", "ResNet-50": "ResNet-50"}
# the committed runs (metrics only: too large to commit); where they are missing, quick mode
# trains one epoch on 64 faces, which checks the pipeline, not the result
big_ds = ds.quick_subset({"Training": 64, "PublicTest": 32, "PrivateTest": 64}) if QUICK else ds
big = {key: train.load_or_train(train.TrainConfig.named(name), big_ds, quick={"epochs": 1},
                                progress=False) for key, name in BIG.items()}
big_rows = {}
for key, art in big.items():
    m, c = art.metrics, art.config
    big_rows[key] = {
        "weights": c.model_args.get("weights") or "none (trained from scratch)",
        "input": "48×48", "training faces": m["n_train"], "epochs": m["epochs_trained"],
        "best epoch": m["best_epoch"], "s/epoch": m["seconds_per_epoch"],
        "parameters (M)": round(m["params"] / 1e6, 1),
        "PrivateTest accuracy": round(100 * m["PrivateTest"]["accuracy"], 1),
        "weighted F1": round(100 * m["PrivateTest"]["weighted_f1"], 1),
        "seed 001 accuracy (128×128, GPU)": round(100 * sources.SEED001_TABLES[SEED001_NAME[key]]["none"]["accuracy"], 1),
    }
big_table = pd.DataFrame(big_rows).T
big_table.loc["depth-4 CNN (this chapter)"] = {
    "weights": "none (trained from scratch)", "input": "48×48", "training faces": base.metrics["n_train"],
    "epochs": base.metrics["epochs_trained"], "best epoch": base.metrics["best_epoch"],
    "s/epoch": base.metrics["seconds_per_epoch"], "parameters (M)": round(base.metrics["params"] / 1e6, 1),
    "PrivateTest accuracy": round(100 * base.metrics["PrivateTest"]["accuracy"], 1),
    "weighted F1": round(100 * base.metrics["PrivateTest"]["weighted_f1"], 1),
    "seed 001 accuracy (128×128, GPU)": None}
vgg, resnet = big["VGG-16 (BN + dropout)"].metrics, big["ResNet-50"].metrics
book.glue("vgg_acc", f"{100 * vgg['PrivateTest']['accuracy']:.1f} %")
book.glue("resnet_acc", f"{100 * resnet['PrivateTest']['accuracy']:.1f} %")
book.glue("vgg_epochs", str(vgg["epochs_trained"]))
book.glue("resnet_epochs", str(resnet["epochs_trained"]))
book.glue("vgg_spe", f"{vgg['seconds_per_epoch'] / 60:.0f}")
book.glue("resnet_spe", f"{resnet['seconds_per_epoch'] / 60:.0f}")
import re
def size_mb(m):  # "no: 60 MB is too large to commit ..." (or the kept model's file size)
    found = re.search(r"(\d+) MB", str(m.get("model_kept", "")))
    return found.group(1) if found else "?"
book.glue("vgg_mb", size_mb(vgg))
book.glue("resnet_mb", size_mb(resnet))
book.glue("vgg_params", f"{vgg['params'] / 1e6:.0f}")
book.glue("resnet_params", f"{resnet['params'] / 1e6:.0f}")
book.glue("vgg_minus_cnn", f"{100 * (base.metrics['PrivateTest']['accuracy'] - vgg['PrivateTest']['accuracy']):.1f}")
conf = np.asarray(vgg["PrivateTest"]["confusion"])         # rows: true, columns: predicted
top_pred = int(conf.sum(axis=0).argmax())
book.glue("vgg_top_pred", vgg["class_names"][top_pred])
book.glue("vgg_top_share", f"{100 * conf.sum(axis=0)[top_pred] / conf.sum():.0f} %")
vh = big["VGG-16 (BN + dropout)"].history
book.glue("vgg_train_first", f"{100 * vh['accuracy'][0]:.0f} %")
book.glue("vgg_train_last", f"{100 * vh['accuracy'][-1]:.0f} %")
book.glue("vgg_vloss_first", f"{vh['val_loss'][0]:.2f}")
book.glue("vgg_vloss_worst", f"{max(vh['val_loss']):.2f}")
book.glue("vgg_vloss_worst_epoch", str(int(np.argmax(vh["val_loss"])) + 1))
rh = big["ResNet-50"].history
rconf = np.asarray(resnet["PrivateTest"]["confusion"])
majority = int(rconf.sum(axis=1).argmax())                 # the most frequent true emotion
majority_share = rconf.sum(axis=1)[majority] / rconf.sum()
book.glue("majority", resnet["class_names"][majority])
book.glue("majority_share", f"{100 * majority_share:.0f} %")
book.glue("resnet_best", str(resnet["best_epoch"]))
book.glue("resnet_n_used", str(int((rconf.sum(axis=0) > 0.05 * rconf.sum()).sum())))
book.glue("resnet_train_first", f"{100 * rh['accuracy'][0]:.0f} %")
book.glue("resnet_train_last", f"{100 * rh['accuracy'][-1]:.0f} %")
if not QUICK and not ds.is_sample:   # the readings in the text below
    assert resnet["PrivateTest"]["accuracy"] < majority_share < base.metrics["PrivateTest"]["accuracy"]
    assert resnet["best_epoch"] < resnet["epochs_trained"] and rh["accuracy"][-1] > rh["accuracy"][0]
    assert (rconf.sum(axis=0) > 0.05 * rconf.sum()).sum() >= 3    # not one constant answer
    assert base.metrics["PrivateTest"]["accuracy"] > vgg["PrivateTest"]["accuracy"]
    assert conf.sum(axis=0)[top_pred] / conf.sum() > 0.9     # "has not learned ... at all"
    assert vh["accuracy"][-1] > vh["accuracy"][0] and max(vh["val_loss"]) > 2 * vh["val_loss"][0]
for art in big.values():
    assert not art.config.model_args.get("weights")          # the text: no ImageNet weights
    assert art.metrics["n_train"] <= 8000 and art.metrics["epochs_trained"] <= 5
big_table"""),
figure_code("""fig, axes = plt.subplots(1, 2, figsize=(9, 3.0))
for key, art in big.items():
    h = art.history
    ep = np.arange(1, len(h["accuracy"]) + 1)
    line, = axes[0].plot(ep, h["accuracy"], marker=".", label=f"{key}, training")
    axes[0].plot(ep, h["val_accuracy"], marker="o", ls="--", color=line.get_color(),
                 label=f"{key}, PublicTest")
    axes[1].plot(ep, h["val_loss"], marker="o", ls="--", color=line.get_color(), label=key)
axes[0].set(xlabel="epoch", ylabel="accuracy")
axes[1].set(xlabel="epoch", ylabel="PublicTest loss", yscale="log")
axes[0].legend(fontsize=7)
axes[1].legend(fontsize=7)
fig.tight_layout()
book.figure("big_curves", fig)"""),
caption("big_curves", """VGG-16 and ResNet-50 (CPU-sized, from scratch): training and PublicTest
accuracy per epoch (left) and PublicTest loss (right, log scale). The model kept is the epoch
with the lowest PublicTest loss, seed 001's criterion."""),
md(r"""VGG-16 reaches {glue:text}`vgg_acc` on PrivateTest after {glue:text}`vgg_epochs` epochs of
about {glue:text}`vgg_spe` minutes each on 8,000 faces, ResNet-50 {glue:text}`resnet_acc` after
{glue:text}`resnet_epochs` epochs of about {glue:text}`resnet_spe` minutes. The depth-4 CNN, trained
on all training faces, is {glue:text}`vgg_minus_cnn` points ahead of VGG-16: with a quarter of the
data and a few epochs, {glue:text}`vgg_params` million parameters are a handicap, not an asset.
Seed 001's VGG-16 had all the data, 128×128 input and a GPU; its ResNet-50 was, by its own
account, poorly trained (per-class results swing between 2 % and 72 %).

VGG-16 has not learned to recognise emotions at all: it answers *{glue:text}`vgg_top_pred`*
for {glue:text}`vgg_top_share` of the PrivateTest faces. The learning curves show what went wrong: its training accuracy rose from
{glue:text}`vgg_train_first` to {glue:text}`vgg_train_last`, while its PublicTest loss went from
{glue:text}`vgg_vloss_first` in the first epoch to {glue:text}`vgg_vloss_worst` in epoch
{glue:text}`vgg_vloss_worst_epoch`. A network that improves on its
training batches and gets *more confidently wrong* on held-out faces is typical of batch
normalisation whose running statistics, gathered on augmented training batches early in
training, do not yet describe the test inputs; and a 13-layer convolutional stack without
batch normalisation learns slowly from scratch at seed 001's small learning rate. We have not
tested which of the two dominates here. More epochs
(seed 001 ran 9 to 13 at 128×128), ImageNet weights, or batch normalisation inside the
convolutional stack are the usual cures; none fits this machine's budget.

ResNet-50 has learned little more. Its PublicTest loss was lowest after epoch
{glue:text}`resnet_best` of {glue:text}`resnet_epochs` (the model kept), and on PrivateTest it is
right for {glue:text}`resnet_acc` of the faces: less than the {glue:text}`majority_share` that
always answering *{glue:text}`majority`* would score, although, unlike VGG-16, it spreads its
answers over {glue:text}`resnet_n_used` emotions. Its training accuracy was still rising
({glue:text}`resnet_train_first` in the first epoch, {glue:text}`resnet_train_last` in the last):
{glue:text}`resnet_epochs` epochs on 8,000 faces are far too few to train
{glue:text}`resnet_params` million parameters from scratch. Neither
model is committed: at {glue:text}`vgg_mb` and {glue:text}`resnet_mb` MB they are over the course's size limit, so
their artifacts keep the metrics (the table above) and the machine that trained them keeps the
models in its cache for the next two cells.

The larger networks can still answer the masking question at test time (on a random
{glue:text}`big_eval_n` PrivateTest faces, because VGG-16 is slow on two cores), and their Grad-CAM maps
(the last convolutional block of each, which at 48×48 input is only 3×3 for VGG-16 and 2×2 for
ResNet-50: coarse by construction) can be set beside the CNN's:"""),
code("""available = {k: a for k, a in big.items() if a.has_model}
if len(available) < len(big):
    print("Models not on this machine (metrics only), skipped:",
          ", ".join(sorted(set(big) - set(available))),
          "- retrain with python -m fer_utils train <config> --retrain")
simple_masks = ("none", "forehead", "eyes", "mouth")
# VGG-16 is slow on two CPU cores: the large models are tested on a
# random 1,000 of PrivateTest's 3,589 faces (the CNN's numbers beside them use all of them)
eval_ds = big_ds if QUICK else big_ds.quick_subset({"PrivateTest": 1000})
n_eval = int((eval_ds.usage == "PrivateTest").sum())
book.glue("big_eval_n", f"{n_eval:,}")
big_tested = {}
for key, art in available.items():
    model = art.load_model()
    row = {masks.LABELS[m]: train.evaluate_model(model, eval_ds, "PrivateTest", mask=m)["accuracy"]
           for m in simple_masks}
    paper = sources.SEED001_TABLES[SEED001_NAME[key]]
    big_tested[(key, "ours, tested with mask")] = row
    big_tested[(key, "seed 001, trained with mask")] = {masks.LABELS[m]: paper[m]["accuracy"]
                                                       for m in simple_masks}
big_tested[("depth-4 CNN", "ours, tested with mask")] = {
    masks.LABELS[m]: tested.loc[masks.LABELS[m], "accuracy"] for m in simple_masks if masks.LABELS[m] in tested.index}
big_tested = pd.DataFrame(big_tested)
if available:
    worst_big = {k: big_tested[(k, "ours, tested with mask")].drop(masks.LABELS["none"]).idxmin()
                 for k in available}
    book.glue("big_worst", ", ".join(f"{k}: {v}" for k, v in worst_big.items()))
    spread = {k: float(np.ptp(big_tested[(k, "ours, tested with mask")].to_numpy())) for k in available}
    book.glue("big_spread", ", ".join(f"{k}: {100 * v:.1f}" for k, v in spread.items()))
    if not QUICK and not ds.is_sample and "VGG-16 (BN + dropout)" in available:
        # the text: a model that answers the same for every face loses (almost) nothing to a mask
        assert spread["VGG-16 (BN + dropout)"] < 0.03
(100 * big_tested).round(1)"""),
figure_code("""big_test = np.flatnonzero(eval_ds.usage == "PrivateTest")
cam_rows = {}
for key, art in available.items():
    model = art.load_model()
    pick = big_test[saliency.correct_per_class(model, eval_ds.images[big_test],
                                               eval_ds.labels[big_test], per_class // 2)]
    if len(pick):   # none only for the one-epoch models of quick mode
        xs, ys = eval_ds.images[pick], eval_ds.labels[pick]
        cam_rows[f"{key}\\nGrad-CAM"] = (saliency.grad_cam(model, xs, ys), xs, ys)
assert QUICK or len(cam_rows) == len(available) == len(big)
if cam_rows:
    book.figure("big_gradcam", saliency.average_figure(cam_rows, None, None))"""),
caption("big_gradcam", """Grad-CAM of VGG-16 and ResNet-50 (CPU-sized, from scratch), averaged
per emotion over correctly classified PrivateTest faces (n per panel). The last convolutional
block is only a few cells wide at 48×48, so the maps are blurred blocks; they tell which part of
the face, not which feature."""),
md(r"""Tested with a band mask it never saw, the band that costs each large model most is, per
model: {glue:text}`big_worst`; the spread between its best and worst masked accuracy, in points:
{glue:text}`big_spread`. A model that gives almost the same answer to every face, as VGG-16 does
here, loses almost nothing to any mask: its row shows that its answers hardly depend on the face,
not that the regions do not matter. Seed 001's numbers in the table are from models *trained*
with the mask, the other question; they are shown for the order of the regions, not for the
size of the drop."""),
md(r"""## Transfer learning (seed 002)

Seed 002 {cite}`belhekar_emotion` fine-tuned an ImageNet ResNet-50 on AffectNet
{cite}`mollahosseini2019affectnet` — about 450,000 web faces annotated by hand with eight
emotions (FER-2013's seven plus contempt) and with valence and arousal. AffectNet is not used
here: it is distributed only on request to academic researchers, and the course runs on data a
reader can fetch. `fer_utils.transfer.fine_tune` implements the careful version of seed 002's
approach in two phases — first only the new head learns on a frozen base, then the top blocks
are unfrozen with a small learning rate (batch-norm layers stay frozen), early-stopped on
PublicTest — and reports whether ImageNet weights were really loaded. On this offline CPU
machine they cannot be, so the course does not show a fine-tuned result; in Colab,
`transfer.fine_tune(ds, "resnet50", weights="imagenet")` runs it.

### What "87.5 %" measured

Seed 002 reports 87.5 % training and validation accuracy from the second epoch on, unchanged
to three digits over 15 epochs. A flat curve at exactly 7/8 on eight classes is a warning sign:
with one-hot targets over 8 classes, Keras's *binary* accuracy (chosen when a model is compiled
with `metrics=["accuracy"]` and a binary cross-entropy loss) scores each of the 8 outputs
separately, and a model that predicts "no" for every class is right on 7 of them."""),
code("""import keras

targets = np.eye(8)[np.random.default_rng(0).integers(0, 8, 1000)]  # 1,000 one-hot labels
silent = np.zeros_like(targets)                                        # "no emotion at all"
binary = keras.metrics.BinaryAccuracy()
binary.update_state(targets, silent)
categorical = keras.metrics.CategoricalAccuracy()
categorical.update_state(targets, silent + np.eye(8)[0])                # always "class 0"
book.glue("binary_acc", f"{100 * float(binary.result()):.1f} %")
book.glue("categorical_acc", f"{100 * float(categorical.result()):.1f} %")
assert abs(float(binary.result()) - 7 / 8) < 1e-6
print(f"binary accuracy of a model that predicts nothing: {float(binary.result()):.4f}; "
      f"categorical accuracy of a constant guess: {float(categorical.result()):.4f}")"""),
md(r"""A model that has learned nothing scores {glue:text}`binary_acc` under binary accuracy,
while the accuracy that matters — is the top class right? — gives a constant guess
{glue:text}`categorical_acc` here. Seed 002's numbers cannot tell us how well its model
recognises emotions; they are what the wrong metric reports for any model. Every accuracy in
this course is categorical (the arg-max of the prediction against the label), and every table
gives per-class recall beside it."""),
md(r"""## Summary

* Trained with a mask, the model loses most with *{glue:text}`worst_mask`* covered
  ({glue:text}`worst_drop` points); a model that never saw a mask loses far more when tested
  with one. Say which question a masking number answers.
* Saliency maps can be scored: against the model (covering the salient pixels, deletion curves)
  and, where a ground truth exists, against it.
* VGG-16 and ResNet-50, trained from scratch in a CPU-sized configuration (8,000 faces, 48×48,
  a few epochs), reach {glue:text}`vgg_acc` and {glue:text}`resnet_acc`: behind the small CNN
  trained on all the data. {glue:text}`vgg_params` or {glue:text}`resnet_params` million
  parameters need data, epochs or pre-trained weights to pay off.
* Seed 002's flat "87.5 %" is binary accuracy over eight one-hot outputs: what a model that
  predicts nothing scores. Report categorical accuracy and per-class recall.

## Exercises

1. Cover the mouth with the *mean* grey of each face instead of black
   (`masks.apply(images, m, fill="mean")`) and repeat the masked test of the unmasked model. How
   much of the loss was caused by the black band itself?

   ```{dropdown} Solution
   Build the covered PrivateTest images with `masks.mask_images(ds.images[test], "mouth",
   fill="mean")[0]`, predict with `train.predict_proba` and compare the accuracy with the
   black-band row. The difference is the part of the "tested with mask" loss that comes from
   an unfamiliar input rather than from missing information.
   ```

2. Compute Grad-CAM at an earlier layer (`saliency.conv_layers(base_model)` lists them) and
   score it with the deletion curve. Are earlier layers' maps more or less faithful?

   ```{dropdown} Solution
   `saliency.grad_cam(base_model, x, y, layer=name)` for each name, then
   `saliency.deletion_curve(...)`. Earlier layers give sharper but noisier maps; compare the
   areas under the curves rather than the pictures.
   ```

3. On the offline sample, which class's regions does each method find best? Split the
   ground-truth score by class.

   ```{dropdown} Solution
   `saliency.mass_inside(s_maps[m], truth)` gives one score per face; group it by `sy` with
   pandas. Classes carried by large regions (the mouth) are easier to hit by chance: compare each
   score with that class's own chance level, `truth[sy == k].mean()`.
   ```"""),
]
write(cells, "chapters/07_masks_saliency.ipynb")
