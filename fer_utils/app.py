"""The notebook app of Chapter 4 (Belhekar et al.'s "pick an image, see the emotion", as widgets).

``emotion_app(recognizer)`` returns an ipywidgets box: upload a photo or pick one of the
sample photos; the output shows the photo with boxes and, per face, its 48×48 input and a
probability bar chart (:func:`fer_utils.viz.prediction_figure`). In the static HTML book the
widget shows its initial state only, so the chapter pairs it with a static figure.
"""
from __future__ import annotations

import numpy as np

from fer_utils.faces import ImageError, read_image
from fer_utils.sample import sample_photos
from fer_utils.viz import prediction_figure


def decode_upload(value) -> tuple[str, bytes]:
    """A FileUpload value → (name, bytes) of the last uploaded file, for both ipywidgets
    generations: 8 (JupyterLab 4) gives a tuple of dicts with ``name`` and ``content``
    (a memoryview); 7.7 (Colab) a dict ``{name: {"metadata": {"name": ...}, "content": bytes}}``."""
    if isinstance(value, (list, tuple)):
        item = value[-1]
        name = item.get("name")
    else:
        name, item = list(value.items())[-1]
        name = item.get("metadata", {}).get("name", name)
    content = item["content"]
    return name or "upload", bytes(content.tobytes() if hasattr(content, "tobytes") else content)


def image_from_bytes(raw: bytes, name: str = "upload") -> np.ndarray:
    """Decode uploaded bytes with the same checks as :func:`fer_utils.faces.read_image`."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / Path(name).name
        f.write_bytes(raw)
        return read_image(f)


def emotion_app(recognizer, photos: dict[str, np.ndarray] | None = None):
    """An upload / sample-picker widget showing detected faces and emotion probabilities."""
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    photos = dict(photos or sample_photos())
    picker = W.Dropdown(options=list(photos), description="sample:")
    upload = W.FileUpload(accept="image/*", multiple=False, description="upload a photo")
    out = W.Output()
    status = W.HTML()

    def show(image: np.ndarray, title: str) -> None:
        out.clear_output(wait=True)
        with out:
            preds = recognizer(image)
            fig = prediction_figure(image, preds, title=title)
            display(fig)
            plt.close(fig)
        status.value = (f"<b>{title}</b>: {len(preds)} face(s)" if preds
                        else f"<b>{title}</b>: no face found; try a frontal, well-lit photo")

    def on_pick(change) -> None:
        show(photos[change["new"]], change["new"])

    def on_upload(change) -> None:
        if not change["new"]:
            return
        name, raw = decode_upload(change["new"])
        try:
            image = image_from_bytes(raw, name)
        except ImageError as exc:
            status.value = f"<span style='color:#b00'>{exc}</span>"
            return
        photos[name] = image
        picker.options = list(photos)
        picker.value = name  # triggers on_pick

    picker.observe(on_pick, names="value")
    upload.observe(on_upload, names="value")
    show(photos[picker.value], picker.value)
    return W.VBox([W.HBox([picker, upload]), status, out])
