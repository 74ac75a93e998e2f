"""What can be done to the models folder: hostile and broken files, two processes saving
the same name at once, a save killed half-way. Every entry is listed with its state,
nothing crashes, and what is there is whole, verified models."""

import json
import os
import shutil
import subprocess
import sys

from dnnlab import registry
from tests.support import ROOT

SAVER = """
import shutil, sys
from dnnlab import registry
from dnnlab.config import ModelSpec
units, weights, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

class Trained:  # a network trained elsewhere: its .keras file, saved as Keras would
    def save(self, path):
        shutil.copyfile(weights, path)

spec = ModelSpec(dense_units=(units,))  # each writer saves a network of its own shape
print("ready", flush=True)
sys.stdin.readline()  # both writers start together
for _ in range(count):
    registry.save(Trained(), {"spec": spec.to_dict(), "test_accuracy": 0.5}, "contested", replace=True)
print(count, flush=True)
"""


def test_every_entry_is_listed_with_its_state_and_the_cli_keeps_working(hostile_folder, tmp_path):
    source, reasons = hostile_folder
    folder = tmp_path / "models"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".lock"))
    (folder / f"{registry.PARTIAL_PREFIX}interrupted").mkdir(exist_ok=True)
    env = {**os.environ, "DNNLAB_MODELS": str(folder)}
    result = subprocess.run(
        [sys.executable, "-m", "dnnlab", "models", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert listed["hostile"]["error"] is None
    for name, reason in reasons.items():
        assert reason in (listed[name]["error"] or ""), (name, listed[name])
    # The interrupted save was cleaned up by the first look at the folder.
    assert not [p for p in folder.iterdir() if p.name.startswith(registry.PARTIAL_PREFIX)]


def test_two_processes_saving_one_name_leave_one_whole_model(tmp_path):
    from dnnlab.architectures import build_model, compile_model
    from dnnlab.config import ModelSpec

    models = tmp_path / "models"
    models.mkdir()
    for units in (16, 32):
        compile_model(build_model(ModelSpec(dense_units=(units,)))).save(tmp_path / f"{units}.keras")
    env = {**os.environ, "DNNLAB_MODELS": str(models), "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", SAVER, str(units), str(tmp_path / f"{units}.keras"), "10"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for units in (16, 32)
    ]
    try:
        for writer in writers:
            assert writer.stdout.readline().strip() == "ready"
        for writer in writers:
            writer.stdin.write("go\n")
            writer.stdin.flush()
        # Read while they write: every model seen is whole (its weights fit its spec).
        seen = set()
        while any(w.poll() is None for w in writers):
            for info in registry.list_models(models):
                assert info.ok, info.error
                seen.add(info.meta["spec"]["dense_units"][0])
        assert [int(w.stdout.readline()) for w in writers] == [10, 10]
    finally:
        for writer in writers:
            writer.kill()
            writer.wait()
    model, meta = registry.load("contested", models)  # digest and layers checked
    assert model.layers[0].units == meta["spec"]["dense_units"][0] in (16, 32)
    assert sorted(p.name for p in models.iterdir()) == [".lock", "contested"]
    assert seen and seen <= {16, 32}
