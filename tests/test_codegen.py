"""`keras_code`: the script shown and downloaded is runnable and builds the same model."""

import ast
import os
import subprocess
import sys

import numpy as np
import pytest

from dnnlab.architectures import ModelSpec, build_model, preset_spec
from dnnlab.codegen import keras_code


@pytest.fixture(scope="module")
def subset_npz(tmp_path_factory, small_mnist):
    (xtr, ytr), (xte, yte) = small_mnist
    path = tmp_path_factory.mktemp("mnist") / "mnist-subset.npz"
    np.savez(path, x_train=xtr[:640], y_train=ytr[:640], x_test=xte[:200], y_test=yte[:200])
    return path


NETWORK_NAMES = {"model", "inputs", "x", "shortcut", "outputs"}  # what the network's statements assign


def _model_from_code(code: str):
    """Execute only the imports and the statements that build `model` (a `keras.Sequential`
    list, or the functional API's lines with skip connections)."""
    tree = ast.parse(code)
    keep = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    keep += [n for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) in NETWORK_NAMES]
    scope: dict = {}
    exec(compile(ast.Module(keep, type_ignores=[]), "<generated>", "exec"), scope)
    return scope["model"]


SPECS = {
    "mlp-raw": preset_spec("mlp-raw"),
    "cnn": preset_spec("cnn"),
    "extras": ModelSpec(
        conv_filters=(8, 16), dense_units=(32,), dropout=0.2, batch_norm=True, l2=1e-4, augment=True
    ),
    "skip-mlp": ModelSpec(dense_units=(32, 32, 16), skip=True),
    "skip-cnn": ModelSpec(conv_filters=(8, 16), dense_units=(32, 32), kernel_size=5, skip=True,
                          batch_norm=True, dropout=0.1, l2=1e-4),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SPECS))
def test_generated_code_builds_exactly_the_spec(name):
    spec = SPECS[name]
    generated, built = _model_from_code(keras_code(spec)), build_model(spec)
    assert [type(layer).__name__ for layer in generated.layers] == [
        type(layer).__name__ for layer in built.layers
    ]
    assert [layer.output.shape for layer in generated.layers] == [
        layer.output.shape for layer in built.layers
    ]
    assert generated.count_params() == built.count_params()


@pytest.mark.parametrize("name", ["skip-mlp", "skip-cnn"])
def test_generated_skip_connections_are_the_same_graph(name):
    """The exported functional code makes the same layers, wired the same way: Keras's
    whole config (names, arguments, each layer's inputs) equals the built model's."""
    import keras

    keras.backend.clear_session()  # layer names count from 0 in both
    built = build_model(SPECS[name]).get_config()
    keras.backend.clear_session()
    generated = _model_from_code(keras_code(SPECS[name])).get_config()
    assert generated == built
    adds = [layer for layer in built["layers"] if layer["class_name"] == "Add"]
    assert len(adds) == len(SPECS[name].conv_filters) + len(SPECS[name].dense_units) - 1


def test_talk_style():
    code = keras_code(preset_spec("mlp-raw"))
    assert "import keras\nfrom keras import layers" in code
    assert "layers.Dense(16)," in code  # no activation, as on the slide
    assert "/ 255" not in code  # raw pixels
    assert 'x_train.astype("float32") / 255' in keras_code(preset_spec("mlp-rescaled"))


def test_generated_script_runs_on_a_small_subset(tmp_path, subset_npz):
    script = tmp_path / "train_cnn.py"
    script.write_text(keras_code(preset_spec("cnn"), epochs=1, batch_size=64, filename=script.name))
    env = {**os.environ, "DNNLAB_MNIST": str(subset_npz), "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Total params: 2,674" in run.stdout
    accuracy = float(run.stdout.split("Test accuracy:")[1].split()[0])
    assert 0.0 <= accuracy <= 1.0
