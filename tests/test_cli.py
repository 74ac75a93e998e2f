"""`python -m dnnlab`: each subcommand, its --json output, and its errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dnnlab import registry
from dnnlab.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_presets_json(capsys):
    code, out, _ = run(capsys, "presets", "--json")
    rows = json.loads(out)
    assert code == 0
    assert {r["name"]: r["params"] for r in rows} == {
        "mlp-raw": 13_002,
        "mlp-rescaled": 13_002,
        "mlp-relu": 13_002,
        "cnn": 2_674,
    }


def test_summary_prints_the_keras_table(capsys):
    code, out, _ = run(capsys, "summary", "cnn")
    assert code == 0 and "Output Shape" in out and "(None, 5, 5, 8)" in out and "Total params: 2,674" in out


def test_models_lists_the_shipped_presets(capsys, monkeypatch):
    monkeypatch.delenv("DNNLAB_MODELS", raising=False)
    code, out, _ = run(capsys, "models", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0
    assert {"mlp-raw", "mlp-rescaled", "mlp-relu", "cnn"} <= set(rows)
    assert rows["cnn"]["params"] == 2_674 and rows["cnn"]["test_accuracy"] >= 0.975


def test_train_saves_and_reports_json(capsys, models_dir):
    code, out, _ = run(
        capsys,
        "train",
        "--preset",
        "mlp-relu",
        "--epochs",
        "1",
        "--limit",
        "1000",
        "--name",
        "tiny",
        "--json",
    )
    result = json.loads(out)
    assert code == 0
    assert {
        "name",
        "preset",
        "params",
        "epochs",
        "test_accuracy",
        "test_loss",
        "train_seconds",
        "epoch_seconds",
    } <= set(result)
    assert result["name"] == "tiny" and result["params"] == 13_002 and len(result["epoch_seconds"]) == 1
    assert sorted(p.name for p in (models_dir / "tiny").iterdir()) == ["meta.json", "model.keras"]
    code, _, err = run(
        capsys, "train", "--preset", "mlp-relu", "--epochs", "1", "--limit", "1000", "--name", "tiny"
    )
    assert code == 1 and "already exists" in err


def _png(path, array):
    Image.fromarray(array).save(path)
    return path


def test_predict_answers_good_files_and_names_bad_ones(capsys, tmp_path, mnist, monkeypatch):
    monkeypatch.delenv("DNNLAB_MODELS", raising=False)
    (_, _), (x_test, y_test) = mnist
    digit = _png(tmp_path / "digit.png", np.kron(x_test[0], np.ones((10, 10), dtype=np.uint8)))
    inverted = _png(tmp_path / "inverted.png", 255 - x_test[1])
    blank = _png(tmp_path / "blank.png", np.zeros((28, 28), np.uint8))
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    files = [digit, tmp_path / "notes.png", inverted, tmp_path / "empty.png", blank, tmp_path / "missing.png"]
    code, out, err = run(capsys, "predict", "--model", "cnn", *map(str, files), "--json")
    answers = json.loads(out)
    assert code == 1
    assert [a["file"] for a in answers] == [str(digit), str(inverted)]
    assert [a["digit"] for a in answers] == [int(y_test[0]), int(y_test[1])]
    assert all(len(a["probabilities"]) == 10 and abs(sum(a["probabilities"]) - 1) < 1e-4 for a in answers)
    lines = err.strip().splitlines()
    assert len(lines) == 4
    for name in ("notes.png", "empty.png", "blank.png", "missing.png"):
        assert any(name in line for line in lines), (name, lines)


def test_unknown_model_is_a_one_line_error(capsys):
    code, _, err = run(capsys, "summary", "no-such-model")
    assert code == 1 and "presets: mlp-raw" in err and "Traceback" not in err


def test_reproduce_prints_the_four_steps(capsys):
    code, out, _ = run(capsys, "reproduce", "--epochs", "1", "--limit", "1000", "--json")
    rows = json.loads(out)["runs"]
    assert code == 0
    assert [r["preset"] for r in rows] == ["mlp-raw", "mlp-rescaled", "mlp-relu", "cnn"]
    assert [r["params"] for r in rows] == [13_002, 13_002, 13_002, 2_674]
    assert all(0 <= r["test_accuracy"] <= 1 for r in rows)


def test_reproduce_with_seeds_saves_each_run_and_summarises_each_preset(capsys, models_dir):
    argv = ["reproduce", "--epochs", "1", "--limit", "500", "--seeds", "2", "--save"]
    code, out, _ = run(capsys, *argv, "--json")
    result = json.loads(out)
    assert code == 0
    names = [r["name"] for r in result["runs"]]
    assert names == ["mlp-raw", "mlp-raw-seed1", "mlp-rescaled", "mlp-rescaled-seed1"] + [
        "mlp-relu",
        "mlp-relu-seed1",
        "cnn",
        "cnn-seed1",
    ]
    saved = {info.name: info.meta for info in registry.list_models()}
    assert sorted(saved) == sorted(names)
    model, _ = registry.load("mlp-relu-seed1")
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "dense_2"], "as in a fresh session"
    for r in result["runs"]:
        meta = saved[r["name"]]
        assert meta["preset"] == r["preset"] and meta["hyper"]["seed"] == r["seed"]
        assert meta["test_accuracy"] == r["test_accuracy"] and meta["data_limit"] == 500
    two_seeds = [r["test_accuracy"] for r in result["runs"] if r["preset"] == "mlp-relu"]
    assert two_seeds[0] != two_seeds[1], "a different seed is a different participant"
    summary = {s["preset"]: s for s in result["presets"]}
    assert list(summary) == ["mlp-raw", "mlp-rescaled", "mlp-relu", "cnn"]
    relu = summary["mlp-relu"]
    assert relu["runs"] == 2 and relu["min"] == min(two_seeds) and relu["max"] == max(two_seeds)
    assert relu["mean"] == pytest.approx(sum(two_seeds) / 2)
    code, _, err = run(capsys, *argv)
    assert code == 1 and "already exist" in err and "--replace" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--preset", "vgg"], "invalid choice: 'vgg'"),
        (["train", "--preset", "cnn", "--epochs", "zero"], "expected a whole number"),
        (["train", "--preset", "cnn", "--name", "../evil", "--limit", "10"], "invalid model name"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_wrong_arguments_get_a_message_not_a_traceback(argv, message, tmp_path):
    env = {**os.environ, "DNNLAB_MODELS": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "dnnlab", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode in (1, 2)
    assert message in run.stderr and "Traceback" not in run.stderr
