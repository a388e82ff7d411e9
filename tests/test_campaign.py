"""The training campaign (fer_utils.campaign): status without data, resumable runs in order,
one log line per epoch, one campaign at a time, and the committed queue itself."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from fer_utils import bench, campaign, cli, inference, paths, saliency
from fer_utils.campaign import Entry
from fer_utils.experiment import DataRef
from fer_utils.sample import make_sample
from fer_utils.train import TrainConfig, train


@pytest.fixture
def where(tmp_path, monkeypatch):
    """Artifacts and checkpoints in a temporary folder; no renicing of the test process."""
    monkeypatch.setenv("FER_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setattr(campaign, "lowest_priority", lambda: 19)
    return tmp_path


def _tiny(tmp_path, name="tiny", epochs=2):
    cfg = {"name": name, "model": "cnn", "model_args": {"depth": 3, "width": 8}, "epochs": epochs,
           "train_limit": 200, "eval_limit": 100, "patience": 5}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(cfg))
    return Entry(str(path), "a test claim", 10.0)


def test_the_committed_queue_starts_with_the_reference_mini_xception():
    first = campaign.QUEUE[0].train_config()
    assert first.model == "mini_xception" and first.model_args["l2_scope"] == "reference"
    assert first.model_args["input_size"] == 64 and first.batch_size == 32
    assert (first.monitor, first.patience, first.lr_patience, first.lr_factor) == ("val_loss", 50, 12, 0.1)
    # then the same with the reference's augmentation, on FER-2013's labels and on FERPlus's
    affine, ferplus = (e.train_config() for e in campaign.QUEUE[1:3])
    assert affine.to_dict() == {**first.to_dict(), "name": affine.name, "augment_style": "affine"}
    assert ferplus.labels == "ferplus-majority" and ferplus.augment_style == "affine"
    vgg = campaign.QUEUE[3].train_config()  # to convergence: 100 epochs of a schedule ending at 0
    assert vgg.model == "vgg_net" and vgg.epochs >= 100 and vgg.schedule == "cosine"
    assert vgg.patience >= vgg.epochs
    assert len({e.key() for e in campaign.QUEUE}) == len(campaign.QUEUE)


def test_the_large_models_run_last_each_in_one_sitting_with_checkpoints_kept_out_of_git():
    """Chapter 7's VGG-16 and ResNet-50: checkpoints too large to commit, so each run must fit
    in one sitting (under 2.5 hours on the idle machine), with a schedule that ends at a rate
    of zero within it; git ignores their checkpoint folders."""
    sitting = [e for e in campaign.QUEUE if e.sitting_hours]
    assert [e.train_config().model for e in sitting] == ["vgg16", "resnet50"]
    first_sitting = campaign.QUEUE.index(sitting[0])   # after the runs of the order
    assert campaign.QUEUE[first_sitting:first_sitting + len(sitting)] == tuple(sitting)
    assert all(not e.sitting_hours for e in campaign.QUEUE[:first_sitting])
    for e in sitting:
        cfg = e.train_config()
        assert e.sitting_hours <= 2.5 and cfg.schedule == "cosine" and cfg.patience >= cfg.epochs
        assert cfg.augment_style == "affine"
        folder = paths.repo_root() / "checkpoints" / e.key()   # where the campaign keeps it
        ignored = subprocess.run(["git", "check-ignore", "-q", str(folder / "last.npz")],
                                 cwd=paths.repo_root(), check=False)
        assert ignored.returncode == 0, f"{folder.name} would be committed"


def test_status_needs_no_data_and_says_waiting(where):
    lines = campaign.status_lines(campaign.QUEUE, checkpoints=where / "none",
                                  artifacts=where / "none")
    assert len(lines) == len(campaign.QUEUE) + 2
    assert all("waiting" in line for line in lines[:-2]) and lines[-1].startswith("total:")
    joining = [e.config for e in campaign.QUEUE if campaign.may_join_ensemble(e)]
    assert lines[-2].endswith("the closing ensemble (campaign-ten-crop, ten-crop views): waits "
                              f"for {', '.join(joining)} (the runs whose models can join it)")
    assert "recipe/vgg-net-long" in joining and "saliency/" not in lines[-2]


def test_status_of_a_run_in_progress_reads_its_checkpoint(where):
    entry = campaign.QUEUE[0]
    ckpt = where / "ck" / entry.key()
    ckpt.mkdir(parents=True)
    state = {"epoch": 4, "best_epoch": 3, "wait": 1, "cpu_seconds": 7200.0,
             "history": {"val_accuracy": [0.3, 0.5, 0.55, 0.54], "cpu_seconds": [1800.0] * 4}}
    (ckpt / "state.json").write_text(json.dumps(state))
    s = campaign.entry_status(entry, checkpoints=where / "ck")
    assert s["state"] == "running" and s["epoch"] == 4 and s["best_public"] == 0.55
    assert s["cpu_hours"] == pytest.approx(2.0)
    assert s["cpu_hours_left"] == pytest.approx((entry.train_config().epochs - 4) * 1800 / 3600)
    line = campaign.status_lines((entry,), checkpoints=where / "ck")[0]
    assert "epoch 4 of at most" in line and "best PublicTest accuracy 55.0 % (epoch 3)" in line
    assert "kept: epoch 3 (best PublicTest loss)" in line  # mx-ref keeps its best val_loss epoch


def test_run_trains_the_queue_in_order_logs_each_epoch_and_leaves_artifacts(where):
    lines = []
    queue = (_tiny(where, "first"), _tiny(where, "second", epochs=1))
    done = campaign.run(queue, make_sample(), log=lines.append)
    assert len(done) == 3 and done[0].startswith("first-") and done[1].startswith("second-")
    # then the closing ensemble, chosen on PublicTest with ten crops, scored once
    name, tta = campaign.FINAL_ENSEMBLE
    assert done[2].startswith(f"{name}-sample-")
    ens = json.loads((paths.artifacts_dir() / "ensembles" / done[2] / "metrics.json").read_text())
    assert ens["tta"] == tta == "ten-crop" and set(ens["ensemble"]) <= set(done[:2])
    assert ens["selection"]["on"] == "PublicTest"
    assert sorted(ens["selection"]["candidates"]) == sorted(done[:2])
    assert any(f"ensemble {done[2]}" in line and "PrivateTest" in line for line in lines)
    done = done[:2]
    # each finished model's reference probabilities, recorded beside the artifacts
    ref = bench.load(inference.REFERENCE_PROBABILITIES, paths.artifacts_dir())
    assert set(ref["models"]) == {paths.display_path(paths.artifacts_dir() / k) for k in done}
    assert len(ref["faces"]) == 16
    assert sum("reference probabilities recorded" in line for line in lines) == 2
    epochs = [line for line in lines if " epoch " in line]
    assert len(epochs) == 3
    assert re.search(r"first\.json epoch 1/2 acc \d\.\d{4} PublicTest \d\.\d{4} .* CPU \d+\.\d\d h$",
                     epochs[0])
    assert lines[-1].endswith("every run of the queue is done")
    for key in done:
        m = json.loads((paths.artifacts_dir() / key / "metrics.json").read_text())
        assert m["train_cpu_seconds"] > 0
        assert not (paths.checkpoints_dir() / key).exists()  # removed when the run ended
    status = campaign.status_lines(queue, artifacts=paths.artifacts_dir(),
                                   data=DataRef.of(make_sample()))
    assert status[0].startswith("1. ") and "done: 2 epochs" in status[0]
    assert re.search(r"^3\. the closing ensemble .*: done: \d members, PublicTest [\d.]+ %, "
                     r"PrivateTest [\d.]+ %", status[2])
    again = []
    assert campaign.run(queue, make_sample(), log=again.append) == []  # nothing left to do


def test_a_checkpoint_over_the_commit_limit_is_reported_once_a_run(where, monkeypatch):
    monkeypatch.setattr(campaign, "MAX_CHECKPOINT_BYTES", 1)   # every checkpoint is over it
    lines = []
    campaign.run((_tiny(where, "big", epochs=3),), make_sample(), log=lines.append)
    assert len([line for line in lines if " epoch " in line]) == 3
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 1 and "more than the 0 MB a committed run may have" in warnings[0]


def test_an_interrupted_run_resumes_from_its_checkpoint(where):
    entry = _tiny(where, "resumed", epochs=2)

    class Stop(Exception):
        pass

    def stop_after_first_epoch(line):
        if " epoch 1/2 " in line:
            raise Stop

    with pytest.raises(Stop):
        campaign.run((entry,), make_sample(), log=stop_after_first_epoch)
    status = campaign.entry_status(entry, artifacts=paths.artifacts_dir(),
                                   data=DataRef.of(make_sample()))
    assert status["state"] == "running" and status["epoch"] == 1
    lines = []
    campaign.run((entry,), make_sample(), log=lines.append)
    assert any("resuming" in line for line in lines)
    assert [line for line in lines if " epoch " in line][0].count("epoch 2/2") == 1


def test_a_one_sitting_run_starts_only_as_the_campaign_starts(where, monkeypatch):
    """Late in a stretch of work, a run that must finish in one sitting waits for the next
    start of the campaign, and the entries after it go on; at the start it runs."""
    big = Entry(_tiny(where, "big", epochs=1).config, "a large model", 10.0, sitting_hours=0.1)
    after = _tiny(where, "after", epochs=1)
    monkeypatch.setattr(campaign, "SITTING_START_WINDOW_S", -1.0)    # the campaign is "late"
    lines = []
    done = campaign.run((big, after), make_sample(), log=lines.append)
    assert len(done) == 1 and done[0].startswith("after-")
    assert any("big.json: waits for the next start of the campaign" in line for line in lines)
    assert "waiting for a new start" in lines[-1] and lines[-1].endswith("big.json")
    line = campaign.status_lines((big,))[0]
    assert "in one sitting of about 0.1 h: starts only as the campaign starts" in line
    monkeypatch.setattr(campaign, "SITTING_START_WINDOW_S", 3600.0)   # just started
    lines = []
    done = campaign.run((big, after), make_sample(), log=lines.append)
    assert [d.split("-")[0] for d in done] == ["big", campaign.FINAL_ENSEMBLE[0].split("-")[0]]
    assert lines[-1].endswith("queue is done")   # and the closing ensemble was chosen
    # its model stays on this machine: Chapter 7's readings are stored as soon as it ends
    assert (paths.artifacts_dir() / done[0] / saliency.READINGS_FILE).is_file()
    assert any(f"Chapter 7's readings stored ({saliency.READINGS_FILE}" in line for line in lines)


def test_a_one_sitting_run_whose_model_and_readings_are_lost_is_trained_again(where, monkeypatch):
    """A new machine has not got a large model's copy (too large to commit); where Chapter 7's
    readings of it were never stored, the campaign trains it again in one sitting, after the
    rest of the queue and at a start of the campaign only, and stores them."""
    import shutil

    from fer_utils import models

    monkeypatch.setenv("FER_CACHE_DIR", str(where / "cache"))
    monkeypatch.setattr(campaign.experiment, "MAX_MODEL_BYTES", 1)   # every model is "large"
    big = Entry(_tiny(where, "big", epochs=1).config, "a large model", 10.0, sitting_hours=0.1)
    monkeypatch.setattr(campaign, "may_join_ensemble", lambda e: e != big)
    art = train(big.train_config(), make_sample(), progress=False)   # trained before readings
    first, folder = art.path.name, art.path                          # were stored
    local = campaign.experiment.large_model_path(first)
    assert (local / models.PORTABLE_SPEC).is_file() and not (folder / models.PORTABLE_SPEC).exists()
    assert not campaign.readings_lost(big, art)   # its model is on this machine
    shutil.rmtree(local)   # what a new machine sees of a large model trained elsewhere
    before = (folder / "metrics.json").read_text()
    monkeypatch.setattr(campaign, "SITTING_START_WINDOW_S", -1.0)    # the campaign is "late"
    lines = []
    assert campaign.run((big,), make_sample(), log=lines.append) == []
    assert any("big.json: its model is not on this machine and Chapter 7's readings of it were "
               "never stored: trained again at the next start" in line for line in lines)
    assert (folder / "metrics.json").read_text() == before   # the finished result stays
    status = campaign.status_lines((big,), artifacts=paths.artifacts_dir(),
                                   data=DataRef.of(make_sample()))
    assert status[0].startswith("1. ") and "done: 1 epochs" in status[0]
    assert "never stored: trained again in one sitting after the queue" in status[0]
    monkeypatch.setattr(campaign, "SITTING_START_WINDOW_S", 3600.0)   # the next start
    lines = []
    assert campaign.run((big,), make_sample(), log=lines.append) == [first]
    assert any("big.json: training again in one sitting" in line for line in lines)
    assert any("big.json: done again after 1 epochs" in line for line in lines)
    assert (folder / saliency.READINGS_FILE).is_file() and (local / models.PORTABLE_SPEC).is_file()
    assert lines[-1].endswith("every run of the queue is done")
    assert "never stored" not in campaign.status_lines((big,), artifacts=paths.artifacts_dir(),
                                                       data=DataRef.of(make_sample()))[0]
    assert campaign.run((big,), make_sample(), log=print) == []   # nothing left to do


def test_the_closing_ensemble_waits_only_for_runs_whose_models_can_join_it():
    """The one-sitting runs' models (VGG-16, ResNet-50) are too large to keep in an artifact,
    so they never join the closing ensemble; the recipe's network and the FER-2013
    mini-Xceptions can, a FERPlus run cannot (other labels)."""
    join = {e.config: campaign.may_join_ensemble(e) for e in campaign.QUEUE}
    assert join == {e.config: not e.sitting_hours and e.train_config().labels == "fer"
                    for e in campaign.QUEUE}
    assert join["recipe/vgg-net-long"] and not join["realtime/mx-ref-ferplus"]


def test_the_closing_ensemble_is_chosen_while_a_run_that_cannot_join_it_waits(where, monkeypatch):
    big = Entry(_tiny(where, "big", epochs=1).config, "a large model", 10.0, sitting_hours=0.1)
    after = _tiny(where, "after", epochs=1)
    monkeypatch.setattr(campaign, "SITTING_START_WINDOW_S", -1.0)    # the campaign is "late"
    monkeypatch.setattr(campaign, "may_join_ensemble", lambda e: e != big)
    lines = []
    done = campaign.run((big, after), make_sample(), log=lines.append)
    assert [d.split("-")[0] for d in done] == ["after", campaign.FINAL_ENSEMBLE[0].split("-")[0]]
    assert any(line.endswith("waiting for a new start: " + big.config) for line in lines)
    assert any("does not wait for them" in line for line in lines)
    assert lines[-1].endswith("the closing ensemble is chosen; the runs above wait for a new start")
    status = campaign.status_lines((big, after), artifacts=paths.artifacts_dir(),
                                   data=DataRef.of(make_sample()))
    assert "waiting (at most 1 epochs, in one sitting" in status[0] and "done" in status[1]
    assert re.search(r"^3\. the closing ensemble .*: done: \d members", status[2])


def test_a_second_campaign_is_refused(where):
    with campaign._single_run(paths.checkpoints_dir() / ".campaign.lock"):
        with pytest.raises(RuntimeError, match="already running"):
            campaign.run((_tiny(where),), make_sample(), log=print)


def test_campaign_status_on_the_command_line(capsys):
    assert cli.main(["campaign", "status"]) == 0
    out = capsys.readouterr().out
    assert "realtime/mx-ref" in out and "total:" in out


def test_the_campaign_lowers_its_own_priority():
    code = "from fer_utils import campaign; print(campaign.lowest_priority())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "19"


@pytest.mark.skipif(not campaign.AUTOGROUP.exists(), reason="no Linux autogroups here")
def test_a_campaign_leading_its_own_session_lowers_its_autogroup_and_no_other():
    code = ("from fer_utils import campaign; campaign.lowest_priority(); "
            "print(campaign.autogroup_nice())")
    mine = campaign.autogroup_nice()
    own = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, start_new_session=True)   # what `setsid` does
    assert own.stdout.strip() == "19"
    shared = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)                         # this session's autogroup
    assert shared.stdout.strip() == str(mine) and campaign.autogroup_nice() == mine


def test_the_distilled_real_time_model_learns_from_an_ensemble():
    """Out of the queue since Model 0 met the real-time target; its config stays for readers
    (``python -m fer_utils train realtime/mx-distilled``)."""
    student = TrainConfig.named("realtime/mx-distilled")
    reference = campaign.QUEUE[1].train_config()
    assert student.teacher and student.labels == "fer" and 0 < student.teacher_weight < 1
    # the same network, augmentation and schedule as the reference run: only the targets differ
    same = {k: v for k, v in reference.to_dict().items() if not k.startswith("teacher")}
    assert {k: v for k, v in student.to_dict().items() if not k.startswith("teacher")} == {
        **same, "name": student.name}


def test_the_campaign_chooses_its_teacher_once_then_trains_the_student(where):
    """A finished run on FER-2013 labels becomes the teacher ensemble's pool; its probabilities
    are stored; the student trains on them and records who taught it."""
    ds = make_sample()
    first = _tiny(where, "first")
    cfg = {**json.loads(open(first.config).read()), "name": "pupil", "teacher": "tutor",
           "teacher_weight": 0.7}
    (where / "pupil.json").write_text(json.dumps(cfg))
    pupil = Entry(str(where / "pupil.json"), "a test claim", 10.0)
    lines = []
    campaign.run((first, pupil), ds, log=lines.append)
    assert any("pupil.json: teacher tutor-sample-" in line for line in lines)
    art = experiment_artifact(where, pupil, ds)
    assert art["teacher"]["name"] == "tutor" and art["teacher"]["members"] == [first.key(DataRef.of(ds))]
    assert campaign.prepare_teacher(pupil.train_config(), ds) is None       # chosen once
    # a teacher's pool leaves students out; the closing ensemble may take them
    from fer_utils import ensemble
    pool = [f.name for f in ensemble.candidates(where / "artifacts", DataRef.of(ds))]
    assert pupil.key(DataRef.of(ds)) not in pool and first.key(DataRef.of(ds)) in pool
    everyone = [f.name for f in ensemble.candidates(where / "artifacts", DataRef.of(ds),
                                                    students=True)]
    assert pupil.key(DataRef.of(ds)) in everyone
    assert any(f"ensemble {campaign.FINAL_ENSEMBLE[0]}-" in line for line in lines)


def test_the_train_command_chooses_a_students_teacher_first(where, capsys):
    first = _tiny(where, "first")
    assert cli.main(["train", first.config, "--no-progress"]) == 0
    cfg = {**json.loads(open(first.config).read()), "name": "pupil", "teacher": "tutor"}
    (where / "pupil.json").write_text(json.dumps(cfg))
    assert cli.main(["train", str(where / "pupil.json"), "--no-progress"]) == 0
    assert "teacher: tutor-sample-" in capsys.readouterr().out
    pupil = Entry(str(where / "pupil.json"), "a test claim", 10.0)
    assert experiment_artifact(where, pupil, make_sample())["teacher"]["name"] == "tutor"


def experiment_artifact(where, entry, ds) -> dict:
    return json.loads((where / "artifacts" / entry.key(DataRef.of(ds)) / "metrics.json").read_text())


def test_a_finished_real_time_model_gets_its_tflite_file(where):
    """A mini-Xception that finishes is converted for TensorFlow Lite beside its weights (what
    predict and the webcam loop run); other networks are left as they are."""
    ds = make_sample()
    small = TrainConfig(name="rt", model="mini_xception", model_args={"input_size": 48},
                        epochs=1, train_limit=64, eval_limit=64)
    art = train(small, ds, root=where / "a", progress=False)
    out = campaign.export_real_time(art)
    assert out == art.path / "model.tflite" and out.stat().st_size > 10_000
    cnn = train(small.replace(name="plain", model="cnn", model_args={"depth": 3, "width": 4}), ds,
                root=where / "b", progress=False)
    assert campaign.export_real_time(cnn) is None and not (cnn.path / "model.tflite").exists()


def test_a_new_closing_ensemble_replaces_the_ones_chosen_among_fewer_candidates(tmp_path):
    data = DataRef.of(make_sample())
    name = campaign.FINAL_ENSEMBLE[0]

    def stored(folder, fingerprint=data.fingerprint, called=name):
        (tmp_path / "ensembles" / folder).mkdir(parents=True)
        (tmp_path / "ensembles" / folder / "metrics.json").write_text(
            json.dumps({"name": called, "data_fingerprint": fingerprint}))
        return tmp_path / "ensembles" / folder

    old = stored(f"{name}-{data.name}-0000000000")
    new = stored(f"{name}-{data.name}-1111111111")
    other_data = stored(f"{name}-{data.name}-2222222222", fingerprint="elsewhere")
    other_name = stored(f"{name}-{data.name}-x-3333333333", called=f"{name}-x")
    assert campaign.drop_superseded(tmp_path, data, keep=new) == [old.name]
    assert not old.exists() and new.exists() and other_data.exists() and other_name.exists()
    assert campaign.drop_superseded(tmp_path, data, keep=new) == []


def test_still_to_join_names_the_unfinished_runs_whose_models_can_join(where):
    """Read by Chapter 4b's closing-ensemble paragraph; needs no data."""
    joining = [e.config for e in campaign.QUEUE if campaign.may_join_ensemble(e)]
    assert campaign.still_to_join(artifacts=where / "none") == joining
    done = campaign.still_to_join(artifacts=paths.repo_root() / "data")   # the book's
    assert "recipe/vgg-net-long" not in done and set(done) <= set(joining)


def test_no_sitting_starts_no_one_sitting_run_even_at_the_start(where, monkeypatch):
    """``campaign run --no-sitting``: less than a sitting is left of this stretch of work."""
    big = Entry(_tiny(where, "big", epochs=1).config, "a large model", 10.0, sitting_hours=0.1)
    after = _tiny(where, "after", epochs=1)
    monkeypatch.setattr(campaign, "SITTING_START_WINDOW_S", 3600.0)   # just started
    monkeypatch.setattr(campaign, "may_join_ensemble", lambda e: e != big)
    lines = []
    done = campaign.run((big, after), make_sample(), log=lines.append, sittings=False)
    assert done[0].startswith("after-")
    assert any("big.json: waits for the next start of the campaign" in line for line in lines)
    args = cli.build_parser().parse_args(["campaign", "run", "--no-sitting"])
    assert args.no_sitting
