"""Writes chapters/08_closing.ipynb, the closing chapter (cells kept here, regenerate)."""
from _notebook import code, figure_code, md, setup_cell, write
cells = [
md(r"""# What we reproduced, and what we learned

:::{admonition} Overview
:class: tip
**Questions.** Which claims of the five source works hold up when the experiments run under
one protocol, on one dataset copy, on a small computer? Where do we differ, and why? And what
should nobody conclude from a facial-expression classifier?

**You will** read a scorecard that puts every headline claim beside our measurement (read from
the committed results, never typed), see which differences come from the protocol, the compute
budget, the data or a bug in the source, and close with the limits and ethics of the field and
where to go next.
:::

:::{admonition} Prerequisites
:class: note
| concept | why here | time to learn |
|---|---|---|
| Chapters 1–7 | each row of the scorecard points back to one | — |
| The course protocol (Chapter 1) | most differences come from it | — |
:::
"""),
setup_cell(),
code("""import pandas as pd

from fer_utils import book, data, scorecard, sources

book.setup(seed=0)
ds = data.load_fer2013()
book.show_source(ds)"""),
md(r"""## The scorecard

`fer_utils.scorecard` lists the claims of the anchors: the sources' accuracies, the facts about
the data, the speeds, and the reference points of the field. For each it reads our number from
the committed artifacts: the trained models' `metrics.json`, the benchmark files, and the
dataset itself. It never trains anything. A claim whose experiment has not been committed
yet is marked *pending* rather than estimated. The verdicts depend on the kind of claim:

| kind | verdict |
|---|---|
| a number to meet or beat | *met* or *missed* |
| a fact or a number to reproduce | *reproduced* (within a stated tolerance) or *differs* |
| an effect, such as a drop in accuracy | *same direction* or *opposite* |
| a reference point we do not try to reach | *reference point* |
| a number whose origin we can show | *explained* |
| data we cannot have | *not reproducible* |
"""),
code("""rows = scorecard.build(ds=ds)
card = scorecard.table(rows)
tally = scorecard.counts(rows)
book.glue("n_claims", len(rows))
pending = [r.claim.claim for r in rows if r.verdict == "pending"]
book.glue("pending_note", "Every experiment the scorecard reads is committed: no claim is pending."
          if not pending else f"{len(pending)} claims were pending when this page was computed "
          "(their experiments had not been committed; the table names them).")
for name in ("reproduced", "differs", "met", "missed", "pending", "same direction",
             "not reproducible", "reference point"):
    book.glue("n_" + name.replace(" ", "_"), tally.get(name, 0))
pd.Series(tally, name="claims").to_frame()"""),
code("""# The whole scorecard (the sections below discuss it chapter by chapter)
with pd.option_context("display.max_rows", 100, "display.max_colwidth", 80):
    display(card.drop(columns=["why it may differ"]).set_index(["chapter", "source"]))"""),
figure_code("""fig = scorecard.accuracy_figure(rows)
fig.axes[0].set_title("Published accuracy (orange) and ours (blue), every measured claim")
book.figure("fig_scorecard", fig)"""),
md(r"""```{glue:figure} fig_scorecard
:name: fig-scorecard

Every accuracy claim we could measure: the published number (orange square, or a bar for a
range) and ours under the course protocol (blue dot). Reference points of the field are
included; they are not targets we tried to reach.
```

Of the {glue:text}`n_claims` claims, {glue:text}`n_reproduced` are reproduced,
{glue:text}`n_differs` differ beyond their tolerance, {glue:text}`n_met` targets are met and
{glue:text}`n_missed` are missed; {glue:text}`n_same_direction` effects point the same way as in
the source, and {glue:text}`n_not_reproducible` need data we cannot have.
{glue:text}`pending_note`

## Why the numbers differ

Four causes explain almost every difference, and each row of the table names its own.

**Protocol.** The course trains on Training, chooses the epoch on PublicTest and tests once on
PrivateTest. mini-Xception's published 66 % came from a script that chose its checkpoint on the
test images; seed 003 and seed 004 used their own random splits; seed 000 trained on 30 % and
tested on 70 % with the test part as validation. A number selected on the test set is an
optimistic estimate, so some of our shortfall is the price of an honest protocol.

**Compute.** Everything here trains on two CPU cores: at most 40 epochs for mini-Xception
instead of hundreds, VGG-16 and ResNet-50 on 8,000 faces for a few epochs, three seeds instead
of ten. Where a configuration is smaller than the source's, its config file and chapter say so.

**Data.** Our FER-2013 is the original Kaggle file with its 12 blank images and its duplicates
across splits (Chapter 1). Seed 000 used a 29,476-image subset; JAFFE needs a licence request
and seed 000's HRFE set is private, so those rows cannot be reproduced here.

**Bugs in the source.** Seed 000's reference code took its neutral baseline from the test
images and dropped undetected faces silently; seed 002's "87.5 %" is the binary accuracy of a
model that predicts nothing. The course fixes what the code breaks and says so where it does.
"""),
code("""def section(chapter):
    cols = ["source", "claim", "published", "ours", "difference", "verdict", "why it may differ"]
    return card.loc[card.chapter == chapter, cols].set_index("source")

by_name = {(r.claim.source, r.claim.claim): r for r in rows}
def ours(source, claim):
    r = by_name[(source, claim)]
    return None if r.ours is None else r.ours.value

acc_fer = ours("Arriaga et al.", "mini-Xception reaches 66 % on FER-2013")
acc_ferplus = ours("Seed 003", "81 % with FERPlus majority labels")
if acc_fer is not None and acc_ferplus is not None:
    book.glue("label_gain", 100 * (acc_ferplus - acc_fer))
best = by_name[("Goodfellow et al.", "human accuracy on FER-2013 (± 5 points)")]
if best.ours is not None:
    book.glue("best_fer", 100 * best.ours.value)
    book.glue("best_fer_what", best.ours.what.split("(")[-1].rstrip(")"))
    book.glue("best_vs_human", 100 * (best.ours.value - sources.FER2013_REFERENCES["human"]))
section("4 Real time")"""),
md(r"""### Labels beat architecture

The same 58-thousand-parameter network gains {glue:text}`label_gain:.1f` points when it learns
FERPlus's crowd labels instead of FER-2013's single ones (Chapter 4). No change of depth in
Chapter 3 moved accuracy by as much. Part of the gain is easier *evaluation* (majority labels are
the ones annotators agree on), and part is cleaner *training*. Both say the same thing: on
FER-2013 the labels, not the network, are the first limit.

Our best single model on FER-2013's own labels reaches {glue:text}`best_fer:.1f` % on PrivateTest
({glue:text}`best_fer_what`), {glue:text}`best_vs_human:+.1f` points from the human reference of
about 65 %. The published best single network (73 %) and the ensembles (75–77 %) trained far larger
models for far longer on GPUs.
"""),
code("""esh = {c: ours("Seed 000", c) for c in ("ESH-Net on FER-2013 ES-MAPs",
                                         "ESH-Net on FER-2013 face images",
                                         "ES-MAPs beat face images (ESH-Net, FER-2013)")}
if all(v is not None for v in esh.values()):
    book.glue("esh_maps", 100 * esh["ESH-Net on FER-2013 ES-MAPs"])
    book.glue("esh_images", 100 * esh["ESH-Net on FER-2013 face images"])
    book.glue("esh_gain", 100 * esh["ES-MAPs beat face images (ESH-Net, FER-2013)"])
    for key, c in (("pub_maps", "ESH-Net on FER-2013 ES-MAPs"),
                   ("pub_images", "ESH-Net on FER-2013 face images")):
        book.glue(key, 100 * by_name[("Seed 000", c)].claim.published)
    assert esh["ES-MAPs beat face images (ESH-Net, FER-2013)"] > 0  # the text: same direction
detected = ours("Brief (measured)", "Face Mesh finds a face in ~91 % of FER-2013")
if detected is not None:
    book.glue("undetected_pct", 100 * (1 - detected))
section("5 ES-MAPs")"""),
md(r"""### Geometry helps, by less than published

On the paper's own 30/70 split, ESH-Net reaches {glue:text}`esh_maps:.1f` % on ES-MAPs and
{glue:text}`esh_images:.1f` % on the same faces' images (seed 000: {glue:text}`pub_maps:.0f` %
and {glue:text}`pub_images:.0f` %). The maps are
ahead by {glue:text}`esh_gain:.1f` points, so the direction of the claim holds, at a third of the
paper's runs and a tenth of its epochs. Chapter 5 adds two results that the paper does not
report. A linear model on pooled maps beats every network we trained on them. And Face Mesh
misses {glue:text}`undetected_pct:.1f` % of the PrivateTest faces: counted as errors, as a
deployed system must count them, they lower every ES-MAP figure.
"""),
code("""section("3 Depth")"""),
md(r"""### Depth is not the lever

Seed 004 reported accuracies between 43 and 48 % for three to six convolutional layers. Our
re-run under the protocol, with three seeds per depth, moves each number by a few points, and
most rows *differ* beyond the two-point tolerance. The spread between seeds (Chapter 3) is
about as large as the differences between depths. The direction of seed 004's conclusion holds:
adding layers to a plain CNN does not, by itself, buy accuracy on FER-2013.
"""),
code("""section("7 Masks")"""),
md(r"""### The mouth matters most, and 87.5 % was a metric

Covering the nose and mouth costs the most accuracy, as in seed 001, although our network is a
small CNN at 48×48 rather than a VGG-16 at 128×128. Saliency maps agree with the masks about
where the evidence is (Chapter 7). Seed 002's flat 87.5 % is exactly what binary accuracy gives a
model that outputs nothing over eight one-hot classes: the number measured the metric, not
the model.
"""),
code("""speed = by_name[("Brief (goal)", "vectorised distances at least 500× faster")]
if speed.ours is not None:
    book.glue("esmap_speedup", speed.ours.value)
section("1 Datasets")"""),
md(r"""### Data facts and speed

The facts about the data reproduce exactly on the original file: they are counts, and the
file is the same. Speed claims depend on the machine. The real-time goals (at most half a
millisecond per face, at least 30 frames per second) are met through TensorFlow Lite and
MediaPipe's face detector. The ES-MAP distances are timed against the reference code's own
double loop over MediaPipe's landmark objects, on this machine: our compiled loop is
{glue:text}`esmap_speedup:.0f`× faster for one face (the goal was 500×). Chapter 5 shows the
benchmark and what each form of the map costs.

## Limits and ethics

A course that teaches facial-expression recognition must also say what it cannot do.

**A facial expression is not a felt emotion.** The models learn to map a face's *configuration*
to the label that an annotator chose for it. People smile when they are not happy and feel fear
with a still face; the mapping from expression to emotion differs across people, cultures and
situations {cite}`barrett2019emotional`. Every "emotion" in this book means "the label an
annotator would most likely give this face".

**The data carry their biases.** FER-2013 was gathered by web image search, with keywords, and
labelled once {cite}`goodfellow2013challenges`. Posed sets such as JAFFE and CK+ show a few
people, mostly young and from few backgrounds, making exaggerated expressions in a lab. Web
images over-represent some ages, skin tones and contexts, and commercial face-analysis systems
have been shown to err far more on some groups than on others {cite}`buolamwini2018gender`.
The course reports per-class results, but it cannot report per-group results: FER-2013 has no
demographic annotations.

**The labels are noisy.** FER-2013's single label and FERPlus's ten-annotator plurality agree
on only about two images in three (Chapter 1). A model's "error" is often a disagreement among
people.

**Consent and privacy.** A face is biometric data. The images of FER-2013 were collected
without their subjects' consent; the webcam and upload tools of this course process faces
locally and store nothing, and should only be pointed at people who have agreed to it. Many
jurisdictions regulate emotion recognition; the European Union's AI Act prohibits it in
workplaces and schools, with narrow exceptions.

**Clinical claims need far more.** Seed 003 proposed a daily mood summary for mental-health
monitoring. Chapter 4 built one to show how easy it is to produce such a number and how little
it means: a model at {glue:text}`best_fer:.0f` % accuracy on web faces, applied to one person's
everyday video, without validation against clinical measures, consent or ethical oversight, is
not a health instrument. Claims of that kind need clinical studies, not a classifier.

**Licences.** FER-2013 was released for a Kaggle challenge for research use; its images remain
their owners' work. The FERPlus labels are published by Microsoft with its repository's terms.
JAFFE, CK+ and AffectNet are distributed on request, for non-commercial research, and may not be
redistributed, which is why the course ships none of them and tests its loaders on generated
files in their layouts.

## Where to go next

* **Bigger and better-labelled data.** AffectNet {cite}`mollahosseini2019affectnet` (about a
  million web faces, 450,000 labelled by hand, with valence and arousal) and RAF-DB
  {cite}`li2017rafdb` (about 30,000 faces, each labelled by about 40 people) are the usual next
  steps; Aff-Wild2 {cite}`kollias2019affwild2` adds video and continuous labels.
* **Beyond the face.** Expression is one signal among voice, words, posture and context;
  multimodal datasets such as CMU-MOSEI {cite}`zadeh2018cmumosei` combine them.
* **Better architectures and training.** Pretrained backbones (the ResNet-50 of Chapter 7 with
  ImageNet weights), vision transformers {cite}`dosovitskiy2021vit`, and longer training on a
  GPU close most of the gap to the published best.
* **Better explanations.** Chapter 7's faithfulness checks can be extended with insertion curves
  and randomisation tests before trusting any saliency map.

## Summary

* The scorecard reads every number from the committed artifacts; missing experiments show as
  pending, not as guesses.
* Most of our differences from the sources come from an honest protocol and a small compute
  budget; some come from bugs in the sources, which the course fixes and names.
* Labels matter more than depth on FER-2013; the mouth carries the most evidence; metrics can
  mislead (87.5 %).
* Facial-expression recognition reads faces, not feelings: its limits, its biases and the
  consent of the people in front of the camera come first.

## Exercises

1. Add a claim to the scorecard: seed 003's statement that mini-Xception allows real-time
   emotion tracking on small devices. Which artifact measures it, and what kind of claim is it?

   ```{dropdown} Solution
   It is a *target* (at least 30 frames per second). Append a `scorecard.Claim` whose `measure`
   reads `data/benchmarks/realtime.json` with the Haar detector the source used
   (`end_to_end/haar/fps`). On our machine Haar is the bottleneck, so the claim is missed
   with Haar and met with MediaPipe: the detector, not the classifier, decides.
   ```

2. The tolerance of a "reproduce" claim is a choice. Change the depth claims' tolerance to the
   seed-to-seed standard deviation of Chapter 3 and count the verdicts again.

   ```{dropdown} Solution
   Read the per-seed accuracies from the three artifacts of each depth, take their standard
   deviation, build new `Claim`s with `dataclasses.replace(claim, tolerance=2 * sd)` and call
   `scorecard.verdict`. With a tolerance set by the noise, more rows count as reproduced:
   a difference smaller than the seed spread is not evidence of a difference.
   ```

3. Pick one limit from "Limits and ethics" and design a measurement that would reveal it with
   this course's tools, and say which data it would need.

   ```{dropdown} Solution
   For example, bias across groups: `metrics.classification_metrics` per group needs a group
   label per face, which FER-2013 lacks. A dataset with demographic annotations (RAF-DB has
   some) would allow per-group accuracy and confusion matrices, and a test of whether the
   differences exceed the seed-to-seed spread.
   ```
"""),
code("""# What this chapter must show
claims = scorecard.claims()
assert len(rows) == len(claims) == len(card) and sum(tally.values()) == len(rows)
assert all((r.ours is None) == (r.verdict in ("pending", "not reproducible")) for r in rows)
assert tally.get("explained") == 1            # seed 002's 87.5 % is 7/8, whatever the data
assert tally.get("not reproducible") == 2     # JAFFE and HRFE
if not ds.is_sample:                          # on the real file the data facts are exact
    assert all(r.verdict == "reproduced" for r in rows if r.claim.chapter == "1 Datasets")
depth_acc = [r.ours.value for r in rows
             if r.claim.chapter == "3 Depth" and "accuracy" in r.claim.claim and r.ours]
if acc_fer is not None and acc_ferplus is not None and len(depth_acc) > 1:
    # the prose: the label change moves accuracy more than any change of depth
    assert acc_ferplus - acc_fer > max(depth_acc) - min(depth_acc)
print(f"{len(rows)} claims scored:", ", ".join(f"{v} {k}" for k, v in tally.items()))"""),
]
write(cells, "chapters/08_closing.ipynb")
