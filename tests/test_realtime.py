"""fer_utils.realtime: tracking and smoothing faces across frames, video sources, the mood
summary. (The webcam command end to end is in test_predict.py.)"""
from __future__ import annotations

import pytest

from fer_utils import predict as P
from fer_utils import realtime as R


def test_smoother_tracks_faces_and_averages():
    def fp(box, p):
        return P.FacePrediction(box, {"a": p, "b": 1 - p})
    s = R.Smoother(window=3)
    s.update([fp((0, 0, 10, 10), 1.0), fp((50, 50, 10, 10), 0.0)])
    out = s.update([fp((51, 50, 10, 10), 0.0), fp((1, 0, 10, 10), 0.0)])
    assert len(s.tracks) == 2
    by_x = sorted(out, key=lambda p: p.box[0])
    assert by_x[0].probabilities["a"] == pytest.approx(0.5)  # mean of 1.0 and 0.0
    assert by_x[1].probabilities["a"] == pytest.approx(0.0)
    vote = R.Smoother(window=3, mode="vote")
    for p in (0.9, 0.1, 0.2):
        last = vote.update([fp((0, 0, 10, 10), p)])
    assert last[0].emotion == "b"  # two of three frames said b
    with pytest.raises(ValueError):
        R.Smoother(mode="median")


def test_colab_photo_outside_colab_says_so():
    with pytest.raises(R.CameraError, match="Colab only"):
        R.colab_photo()


def test_iou_of_boxes():
    assert R.iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert R.iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert R.iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert R.iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0          # empty boxes: no overlap, no error


def test_a_face_unseen_for_a_window_is_forgotten():
    s = R.Smoother(window=2)
    face = P.FacePrediction((0, 0, 10, 10), {"a": 1.0, "b": 0.0})
    s.update([face])
    s.update([])
    s.update([])
    assert s.tracks == []
    out = s.update([P.FacePrediction((0, 0, 10, 10), {"a": 0.0, "b": 1.0})])
    assert out[0].probabilities["a"] == 0.0                    # a new track: no old frames in it
    with pytest.raises(ValueError, match="window"):
        R.Smoother(window=0)


def test_mood_summary_shares_in_class_order():
    shares = R.mood_summary(["happy", "sad", "happy", "happy"], ("angry", "happy", "sad"))
    assert list(shares) == ["angry", "happy", "sad"]
    assert shares == {"angry": 0.0, "happy": 0.75, "sad": 0.25}
    assert R.mood_summary([], ("a",)) == {"a": 0.0}


def test_a_missing_or_unreadable_video_is_a_camera_error(tmp_path):
    with pytest.raises(R.CameraError, match="no such video file"):
        R.open_source(video=tmp_path / "none.mp4")
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(R.CameraError, match="cannot read this video"):
        R.open_source(video=tmp_path / "bad.mp4")
