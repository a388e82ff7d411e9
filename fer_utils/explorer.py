"""The ES-MAP explorer of Chapter 6: one face's map beside its emotion's consensus, by region.

Two ways in:

* :func:`explorer_figure` — a static four-panel figure (face with landmarks, the face's
  ES-MAP, the emotion's consensus map, their difference), for the HTML book and for scripts;
* :class:`Explorer` — the same figure behind ipywidgets: pick an emotion and an image (or
  upload a photo), highlight a landmark region, change the clip threshold and the baseline.

Maps are shown with their rows and columns **grouped by region**
(:func:`fer_utils.landmarks.region_order`): every region owns one block of rows and the same
block of columns, so "what happens around the mouth" is a cross-shaped band of the map.
:func:`region_blocks` gives the block boundaries and :func:`block_means` reduces a map to one
number per pair of regions (mean change of the distances between them).

Consensus maps are recomputed whenever the baseline or the clip changes, from the same fixed
set of faces per emotion (50 by default, as Yang & Chen), so the comparison stays like for like.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fer_utils import esmap, landmarks
from fer_utils.app import decode_upload, image_from_bytes
from fer_utils.dataset import CLASS_NAMES
from fer_utils.faces import ImageError
from fer_utils.landmarks import (
    N_LANDMARKS,
    REGION_COLORS,
    REGION_NAMES,
    REGIONS,
    STATUS,
    FaceMesh,
    region_order,
)

#: Clip thresholds offered by the explorer's slider.
CLIP_RANGE = (0.02, 0.3)


# --------------------------------------------------------------------------------------
# maps ordered by region
# --------------------------------------------------------------------------------------

def reorder(maps: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Rows and columns of (…, 468, 468) maps permuted by ``order`` (default: by region)."""
    order = region_order() if order is None else np.asarray(order)
    maps = np.asarray(maps)
    return maps[..., order, :][..., :, order]


def region_blocks() -> list[tuple[str, int, int]]:
    """``(region, start, stop)`` of each region's block in a map ordered by :func:`reorder`.

    Regions come in :data:`~fer_utils.landmarks.REGION_NAMES` order, then ``"other"``
    (points in no region); the blocks cover 0–468 without gaps.
    """
    blocks, start = [], 0
    for name in REGION_NAMES:
        blocks.append((name, start, start + len(REGIONS[name])))
        start += len(REGIONS[name])
    blocks.append(("other", start, N_LANDMARKS))
    return blocks


def block_means(es_map: np.ndarray, *, absolute: bool = True):
    """Mean of a (468, 468) map over each pair of regions, as a region × region DataFrame.

    With ``absolute`` (default) the mean of ``|map|``: how much the distances between two
    regions changed, whatever the direction. The diagonal block of a region is the change
    *within* it (e.g. the mouth opening); off-diagonal blocks are changes between regions.
    """
    import pandas as pd

    m = reorder(np.asarray(es_map, np.float64))
    if absolute:
        m = np.abs(m)
    blocks = region_blocks()
    names = [b[0] for b in blocks]
    out = np.empty((len(blocks), len(blocks)))
    for i, (_, a0, a1) in enumerate(blocks):
        for j, (_, b0, b1) in enumerate(blocks):
            out[i, j] = np.nanmean(m[a0:a1, b0:b1])
    return pd.DataFrame(out, index=names, columns=names)


def _draw_map(ax, m: np.ndarray, *, clip: float, title: str, region: str | None) -> None:
    """One region-ordered map with block boundaries, region ticks and the region lit."""
    esmap.render(reorder(m), ax, clip=clip, title=title, colorbar=False)
    blocks = region_blocks()
    for _, start, _ in blocks[1:]:
        ax.axhline(start - 0.5, color="k", lw=0.4, alpha=0.5)
        ax.axvline(start - 0.5, color="k", lw=0.4, alpha=0.5)
    centres = [(a + b) / 2 for _, a, b in blocks]
    names = [n for n, _, _ in blocks]
    ax.set_yticks(centres, names, fontsize=7)
    ax.set_xticks([])
    for tick, name in zip(ax.get_yticklabels(), names):
        tick.set_color(REGION_COLORS.get(name, "k") if name != "nose" else "#8a7f00")
    if region is not None:
        _, a, b = next(blk for blk in blocks if blk[0] == region)
        veil = np.ones((N_LANDMARKS, N_LANDMARKS, 4))
        veil[..., 3] = 0.7
        veil[a:b, :, 3] = 0
        veil[:, a:b, 3] = 0
        ax.imshow(veil, interpolation="nearest")


def map_figure(m: np.ndarray, *, clip: float = esmap.CLIP, title: str = ""):
    """One map as a reader-ready figure: rows and columns ordered by face region, region
    names as ticks, block boundaries, and a colour bar saying what the colours mean (the
    ``esmap`` command's PNG)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    _draw_map(ax, m, clip=clip, title=title, region=None)
    signed = np.nanmin(m) < 0
    im = ax.get_images()[0]
    label = (f"change of distance vs neutral (clipped ±{clip:g})" if signed
             else "3-D distance between two landmarks (largest = 1)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=label)
    ax.set_xlabel("landmarks, ordered by region (same order as the rows)", fontsize=8)
    fig.tight_layout()
    return fig


def explorer_figure(image: np.ndarray, points: np.ndarray, es_map: np.ndarray,
                    consensus: np.ndarray | None, *, emotion: str = "",
                    region: str | None = None, clip: float = esmap.CLIP, title: str = ""):
    """Four panels: the face and its landmarks, its ES-MAP, the consensus map, the difference.

    ``es_map`` and ``consensus`` are full (468, 468) maps (``consensus`` may be None: the last
    two panels are then left out). ``region`` (one of
    :data:`~fer_utils.landmarks.REGION_NAMES`) lights that region on the face and its rows
    and columns on the maps. The difference ``es_map − consensus`` is clipped at ``±clip``.
    """
    import matplotlib.pyplot as plt

    if region is not None and region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; choose one of {', '.join(REGION_NAMES)}")
    n = 2 if consensus is None else 4
    fig, axes = plt.subplots(1, n, figsize=(3.3 * n, 3.4))
    img = np.asarray(image)
    landmarks.draw(axes[0], img, points, highlight=region,
                   size=6 if img.shape[0] < 100 else 3)
    axes[0].set_title(title or "face and landmarks", fontsize=10)
    _draw_map(axes[1], es_map, clip=clip, title="its ES-MAP", region=region)
    if consensus is not None:
        _draw_map(axes[2], consensus, clip=clip, title=f"consensus: {emotion}".rstrip(": "),
                  region=region)
        diff = np.clip(np.asarray(es_map) - consensus, -clip, clip)
        _draw_map(axes[3], diff, clip=clip, title="difference (face − consensus)", region=region)
    im = axes[1].images[0]
    fig.colorbar(im, ax=list(axes[1:]), fraction=0.02, pad=0.02,
                 label=f"change of distance vs neutral (clipped ±{clip:g})")
    return fig


# --------------------------------------------------------------------------------------
# consensus maps that follow the baseline and the clip
# --------------------------------------------------------------------------------------

@dataclass
class ConsensusSet:
    """Fixed faces per emotion whose mean ES-MAP is the emotion's consensus.

    ``chosen[k]`` indexes ``points`` (faces with landmarks only). :meth:`maps` recomputes the
    consensus for any baseline and clip, so changing either keeps the same faces.
    """

    points: np.ndarray
    chosen: dict

    @classmethod
    def pick(cls, points: np.ndarray, labels: np.ndarray, *, per_class: int = 50,
             n_classes: int = 7, seed: int = 0) -> ConsensusSet:
        """Draw ``per_class`` random faces with landmarks per class (all if fewer)."""
        points = np.asarray(points)
        labels = np.asarray(labels)
        ok = ~np.isnan(points).any(axis=(1, 2))
        rng = np.random.default_rng(seed)
        chosen = {}
        for k in range(n_classes):
            idx = np.flatnonzero((labels == k) & ok)
            if len(idx):
                chosen[k] = np.sort(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
        return cls(points, chosen)

    def maps(self, baseline: esmap.Baseline, clip: float = esmap.CLIP,
             n_classes: int = 7) -> np.ndarray:
        """(n_classes, 468, 468) consensus maps (NaN for classes without faces)."""
        out = np.full((n_classes, N_LANDMARKS, N_LANDMARKS), np.nan, np.float32)
        for k, idx in self.chosen.items():
            out[k] = esmap.esmaps(self.points[idx], baseline, clip=clip).mean(axis=0)
        return out


def nearest_consensus(es_map: np.ndarray, consensus: np.ndarray) -> np.ndarray:
    """Correlation of one map with each consensus map (NaN for missing classes)."""
    return np.array([esmap.correlation(np.asarray(es_map)[None], c)[0]
                     if not np.isnan(c).all() else np.nan for c in consensus])


# --------------------------------------------------------------------------------------
# the widget
# --------------------------------------------------------------------------------------

class Explorer:
    """ES-MAP explorer over a set of faces (images, labels, landmarks) and named baselines.

    Parameters
    ----------
    images, labels, points
        Faces to browse (uint8 images, class indices, (N, 468, 3) landmarks with NaN where no
        face was found; those are not offered).
    baselines
        ``{name: Baseline}``; the first is the default.
    consensus
        The :class:`ConsensusSet` behind the consensus maps (e.g. 50 training faces per class).
    class_names
        Names of the classes (default: FER-2013's seven).
    mesh
        A :class:`fer_utils.landmarks.FaceMesh` for uploaded photos (made on first upload).

    ``Explorer(...).widget()`` returns the ipywidgets box; :meth:`figure` the static figure for
    a given state; :meth:`state_text` the line of numbers shown under the controls.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, points: np.ndarray,
                 baselines: Mapping[str, esmap.Baseline], consensus: ConsensusSet, *,
                 class_names: Sequence[str] | None = None, mesh=None) -> None:

        if not baselines:
            raise ValueError("give at least one baseline, e.g. {'training neutral': baseline}")
        self.images = np.asarray(images)
        self.labels = np.asarray(labels)
        self.points = np.asarray(points)
        self.baselines = dict(baselines)
        self.consensus_set = consensus
        self.class_names = list(class_names or CLASS_NAMES)
        self._mesh = mesh
        ok = ~np.isnan(self.points).any(axis=(1, 2))
        self.by_class = {k: np.flatnonzero((self.labels == k) & ok)
                         for k in range(len(self.class_names))}
        self._consensus_cache: dict = {}
        self.upload: tuple | None = None  # (name, image, points) of the last uploaded photo

    # -- the numbers ---------------------------------------------------------------

    def consensus(self, baseline: str, clip: float) -> np.ndarray:
        key = (baseline, round(float(clip), 4))
        if key not in self._consensus_cache:
            self._consensus_cache[key] = self.consensus_set.maps(self.baselines[baseline], clip,
                                                                 len(self.class_names))
        return self._consensus_cache[key]

    def face(self, emotion: str, position: int) -> tuple[np.ndarray, np.ndarray, str]:
        """(image, points, title) of the ``position``-th browsable face of ``emotion``."""
        k = self.class_names.index(emotion)
        idx = self.by_class[k]
        if not len(idx):
            raise ValueError(f"no face with landmarks labelled {emotion!r}")
        i = int(idx[int(np.clip(position, 0, len(idx) - 1))])
        return self.images[i], self.points[i], f"{emotion}, image #{i}"

    def _state(self, emotion: str, position: int, clip: float, baseline: str, uploaded: bool):
        if uploaded and self.upload is not None:
            name, image, pts = self.upload
            title = f"uploaded: {name}"
        else:
            image, pts, title = self.face(emotion, position)
        m = esmap.esmaps(pts, self.baselines[baseline], clip=clip)
        cons = self.consensus(baseline, clip)
        return image, pts, m, cons, title

    def state_text(self, emotion: str, position: int = 0, region: str | None = None,
                   clip: float = esmap.CLIP, baseline: str | None = None,
                   uploaded: bool = False) -> str:
        """The numbers behind the figure: nearest consensus, and the region's share of change."""
        baseline = baseline or next(iter(self.baselines))
        _, _, m, cons, title = self._state(emotion, position, clip, baseline, uploaded)
        r = nearest_consensus(m, cons)
        k = self.class_names.index(emotion)
        best = int(np.nanargmax(r))
        parts = [f"<b>{title}</b>: correlation with the {emotion} consensus {r[k]:.2f}; "
                 f"closest consensus <b>{self.class_names[best]}</b> ({r[best]:.2f})"]
        if region is not None:
            blocks = block_means(m)
            own = float(blocks.loc[region].mean())
            whole = float(np.nanmean(np.abs(m)))
            partner = blocks.loc[region].drop(region).idxmax()
            parts.append(f"{region}: {len(REGIONS[region])} landmarks; mean |change| in its rows "
                         f"{own:.3f} vs {whole:.3f} over the whole map; most changed partner: "
                         f"{partner}")
        return "<br>".join(parts)

    def figure(self, emotion: str, position: int = 0, region: str | None = None,
               clip: float = esmap.CLIP, baseline: str | None = None, uploaded: bool = False):
        """The static figure of one explorer state."""
        baseline = baseline or next(iter(self.baselines))
        image, pts, m, cons, title = self._state(emotion, position, clip, baseline, uploaded)
        k = self.class_names.index(emotion)
        return explorer_figure(image, pts, m, cons[k], emotion=emotion, region=region,
                               clip=clip, title=title)

    # -- uploads -------------------------------------------------------------------

    def add_upload(self, raw: bytes, name: str = "upload") -> str:
        """Decode an uploaded photo and find its landmarks; returns a message for the user.

        On success the photo becomes the explorer's "uploaded" face. A file that is not an
        image, or a photo without a face, leaves the explorer as it was and says why.
        """

        try:
            image = image_from_bytes(raw, name)
        except ImageError as exc:
            return f"could not read {name}: {exc}"
        if self._mesh is None:
            self._mesh = FaceMesh()
        pts, status = self._mesh.detect(image)
        if pts is None:
            return f"{name}: {STATUS[status]}; try a frontal, well-lit photo of one face"
        self.upload = (name, image, pts)
        return f"{name}: face found ({pts.shape[0]} landmarks)"

    # -- widgets -------------------------------------------------------------------

    def widget(self, emotion: str | None = None, position: int = 0):
        """The live explorer (ipywidgets 8). Returns a ``VBox``."""
        import io

        import ipywidgets as W
        import matplotlib.pyplot as plt

        names = [n for k, n in enumerate(self.class_names) if len(self.by_class[k])]
        emotion = emotion or names[0]
        w_emotion = W.Dropdown(options=names, value=emotion, description="emotion:")
        w_image = W.IntSlider(value=position, min=0,
                              max=len(self.by_class[self.class_names.index(emotion)]) - 1,
                              description="image:", continuous_update=False)
        w_region = W.Dropdown(options=[("none", None)] + [(n, n) for n in REGION_NAMES],
                              value=None, description="region:")
        w_clip = W.FloatSlider(value=esmap.CLIP, min=CLIP_RANGE[0], max=CLIP_RANGE[1],
                               step=0.01, description="clip ±", continuous_update=False,
                               readout_format=".2f")
        w_base = W.Dropdown(options=list(self.baselines), description="baseline:",
                            style={"description_width": "initial"})
        w_upload = W.FileUpload(accept="image/*", multiple=False, description="upload a photo")
        w_source = W.ToggleButtons(options=["dataset", "upload"], value="dataset",
                                   disabled=True, description="face:")
        status = W.HTML()
        # The figure goes into an Image widget (PNG bytes) rather than an Output widget: its
        # state is saved with the notebook, so the HTML book shows the picture, and headless
        # execution (nbclient) does not stall on large Output-widget messages (nbclient#312).
        out = W.Image(format="png", layout=W.Layout(width="100%", max_width="1100px"))

        def redraw(*_):
            uploaded = w_source.value == "upload"
            args = dict(emotion=w_emotion.value, position=w_image.value, region=w_region.value,
                        clip=w_clip.value, baseline=w_base.value, uploaded=uploaded)
            status.value = self.state_text(**args)
            fig = self.figure(**args)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=72, bbox_inches="tight")
            plt.close(fig)
            out.value = buf.getvalue()

        def on_emotion(change):
            k = self.class_names.index(change["new"])
            w_image.max = len(self.by_class[k]) - 1
            redraw()

        def on_upload(change):
            if not change["new"]:
                return
            name, raw = decode_upload(change["new"])
            message = self.add_upload(raw, name)
            if self.upload is not None and self.upload[0] == name:
                w_source.disabled = False
                if w_source.value == "upload":
                    redraw()
                else:
                    w_source.value = "upload"  # triggers redraw
            status.value = message + "<br>" + status.value

        w_emotion.observe(on_emotion, names="value")
        for w in (w_image, w_region, w_clip, w_base, w_source):
            w.observe(redraw, names="value")
        w_upload.observe(on_upload, names="value")
        redraw()
        box = W.VBox([W.HBox([w_emotion, w_image, w_region]),
                      W.HBox([w_clip, w_base]), W.HBox([w_upload, w_source]), status, out])
        box.controls = dict(emotion=w_emotion, image=w_image, region=w_region, clip=w_clip,
                            baseline=w_base, upload=w_upload, source=w_source, status=status,
                            out=out)
        return box
