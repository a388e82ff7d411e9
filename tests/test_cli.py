"""fer_utils.cli: the command line's help, its set-up report, and one-line errors. (Each
command's work is tested with its module: train in test_train.py, predict and webcam in
test_predict.py, evaluate in test_artifacts.py, bad inputs in test_bad_inputs.py.)"""
from __future__ import annotations

import pytest

from fer_utils import cli

COMMANDS = ("info", "audit", "train", "evaluate", "predict", "webcam", "esmap", "landmarks",
            "campaign")


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(c in out for c in COMMANDS)


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys):
    for argv in ([], ["fly"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 2
        assert "usage:" in capsys.readouterr().err


def test_info_reports_versions_onednn_and_where_data_is(capsys, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", "/nonexistent/fer")
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "oneDNN" in out and "keras" in out
    assert "data folder (FER_DATA_DIR): /nonexistent/fer" in out
    assert "FER-2013: not found -> chapters use the offline sample" in out


def test_campaign_status_names_every_queue_entry(capsys):
    from fer_utils import campaign

    assert cli.main(["campaign", "status"]) == 0
    out = capsys.readouterr().out
    assert all(entry.config in out for entry in campaign.QUEUE)


def test_a_config_that_does_not_exist_is_one_line(capsys):
    assert cli.main(["train", "ablation/no-such-config", "--quick"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no config named" in err[0]
