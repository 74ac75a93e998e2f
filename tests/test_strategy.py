"""Scale-out: `--strategy mirrored` trains over several devices and reaches the same accuracy."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _train(tmp_path, name, *extra):
    env = {**os.environ, "DNNLAB_MODELS": str(tmp_path)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dnnlab",
            "train",
            "--preset",
            "cnn",
            "--epochs",
            "1",
            "--limit",
            "4000",
            "--name",
            name,
            "--json",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def test_mirrored_strategy_on_two_logical_cpus_matches_one_device(tmp_path):
    single = _train(tmp_path, "single")
    mirrored = _train(tmp_path, "mirrored", "--strategy", "mirrored", "--cpu-devices", "2")
    assert single["replicas"] == 1 and mirrored["replicas"] == 2
    # Same data, seed and global batch: only the order of floating-point sums differs.
    assert abs(mirrored["test_accuracy"] - single["test_accuracy"]) <= 0.03, (single, mirrored)
    assert mirrored["test_accuracy"] > 0.7  # learned: chance is 0.1
