"""The notebook app's upload handling (fer_utils.app): both ipywidgets generations the course
supports, 8 (JupyterLab 4) and 7.7 (Colab)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from fer_utils.app import decode_upload, image_from_bytes


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((20, 30, 3), 120, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_ipywidgets_8_value_a_tuple_of_dicts_with_memoryviews():
    raw = _png()
    value = ({"name": "old.png", "content": memoryview(b"x")},
             {"name": "face.png", "type": "image/png", "size": len(raw), "content": memoryview(raw)})
    assert decode_upload(value) == ("face.png", raw)


def test_ipywidgets_7_value_a_dict_keyed_by_file_name():
    raw = _png()
    value = {"face.png": {"metadata": {"name": "face.png", "type": "image/png", "size": len(raw)},
                          "content": raw}}
    name, got = decode_upload(value)
    assert (name, got) == ("face.png", raw)
    assert image_from_bytes(got, name).shape == (20, 30, 3)
