"""The talk's four networks and the spec that builds them."""

import keras
import numpy as np
import pytest
from keras import layers

from dnnlab.architectures import (
    PRESETS,
    ModelSpec,
    build_model,
    prepare_inputs,
    preset_of,
    preset_spec,
    summary_text,
)

# The talk's four models, as its slides write them (see the README's "The talk").
TALK_MODELS = {
    "mlp-raw": lambda: [keras.Input(shape=(784,)), layers.Dense(16), layers.Dense(16),
                        layers.Dense(10, activation="softmax")],
    "mlp-rescaled": lambda: [keras.Input(shape=(784,)), layers.Dense(16), layers.Dense(16),
                             layers.Dense(10, activation="softmax")],
    "mlp-relu": lambda: [keras.Input(shape=(784,)), layers.Dense(16, activation="relu"),
                         layers.Dense(16, activation="relu"), layers.Dense(10, activation="softmax")],
    "cnn": lambda: [keras.Input(shape=(28, 28, 1)), layers.Conv2D(8, kernel_size=(3, 3)),
                    layers.MaxPooling2D(pool_size=(2, 2)), layers.Conv2D(8, kernel_size=(3, 3)),
                    layers.MaxPooling2D(pool_size=(2, 2)), layers.Flatten(),
                    layers.Dense(10, activation="softmax")],
}  # fmt: skip
TALK_RESCALES = {"mlp-raw": False, "mlp-rescaled": True, "mlp-relu": True, "cnn": True}
COMPARED = ("units", "filters", "kernel_size", "strides", "padding", "pool_size", "activation", "use_bias")


def layer_by_layer(model) -> list[dict]:
    """Each layer's type and the configuration that shapes what it computes."""
    return [
        {"type": type(layer).__name__, **{k: v for k, v in layer.get_config().items() if k in COMPARED}}
        for layer in model.layers
    ]


@pytest.mark.parametrize("name", list(TALK_MODELS))
def test_presets_are_the_talks_networks_layer_by_layer(name):
    ours, talk = build_model(preset_spec(name)), keras.Sequential(TALK_MODELS[name]())
    assert layer_by_layer(ours) == layer_by_layer(talk)
    assert ours.input_shape == talk.input_shape


@pytest.mark.parametrize("name", list(TALK_MODELS))
def test_presets_prepare_pixels_as_the_talk_does(name):
    pixels = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    talk = pixels.astype("float32") / 255 if TALK_RESCALES[name] else pixels.astype("float32")
    spec = preset_spec(name)
    np.testing.assert_array_equal(prepare_inputs(spec, pixels), talk.reshape((-1, *spec.input_shape)))


TALK_PARAMS = {"mlp-raw": 13_002, "mlp-rescaled": 13_002, "mlp-relu": 13_002, "cnn": 2_674}


@pytest.mark.parametrize("name", list(TALK_PARAMS))
def test_presets_have_the_talks_parameter_counts(name):
    assert build_model(preset_spec(name)).count_params() == TALK_PARAMS[name]


def test_cnn_output_shapes_match_the_talks_summary():
    model = build_model(preset_spec("cnn"))
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes == [(26, 26, 8), (13, 13, 8), (11, 11, 8), (5, 5, 8), (200,), (10,)]


def test_the_summary_is_the_talks_with_its_input_row():
    keras.backend.clear_session()  # layer names count from 0 again, as in a fresh script
    text = summary_text(build_model(preset_spec("cnn")))
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    rows = [line.strip("│ ").split("│") for line in text.splitlines() if line.startswith("│")]
    table = [(name.strip(), shape.strip(), params.strip()) for name, shape, params in rows]
    assert table == [
        ("input_layer (InputLayer)", "(None, 28, 28, 1)", "0"),
        ("conv2d (Conv2D)", "(None, 26, 26, 8)", "80"),
        ("max_pooling2d (MaxPooling2D)", "(None, 13, 13, 8)", "0"),
        ("conv2d_1 (Conv2D)", "(None, 11, 11, 8)", "584"),
        ("max_pooling2d_1 (MaxPooling2D)", "(None, 5, 5, 8)", "0"),
        ("flatten (Flatten)", "(None, 200)", "0"),
        ("dense (Dense)", "(None, 10)", "2,010"),
    ]
    assert "Total params: 2,674" in text and "Non-trainable params: 0" in text


def test_presets_differ_in_one_step_at_a_time():
    raw, rescaled, relu = (preset_spec(n) for n in ("mlp-raw", "mlp-rescaled", "mlp-relu"))
    assert (raw.rescale, rescaled.rescale) == (False, True)
    assert (rescaled.activation, relu.activation) == ("linear", "relu")
    assert preset_of(relu) == "mlp-relu" and preset_of(ModelSpec(dense_units=(32,))) is None


def test_spec_round_trips_through_a_dict():
    spec = ModelSpec(
        conv_filters=[8, 16], dense_units=[32], dropout=0.25, batch_norm=True, l2=1e-4, augment=True
    )
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    assert hash(spec) == hash(ModelSpec.from_dict(spec.to_dict()))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"activation": "swish"}, "activation='swish' is not one of linear, relu, sigmoid, tanh"),
        ({"dense_units": (0,)}, "dense_units"),
        ({"dropout": 1.5}, "dropout"),
        ({"conv_filters": (8, 8, 8), "pool_size": 2, "kernel_size": 5}, "too many convolution blocks"),
        ({"kernel_size": 4}, "kernel_size=4 is not one of 3, 5"),
    ],
)
def test_invalid_specs_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec(**kwargs)


def test_unknown_spec_fields_are_named():
    with pytest.raises(ValueError, match="unknown spec fields.*'depth'"):
        ModelSpec.from_dict({"depth": 3})


@pytest.mark.parametrize("is_conv", [False, True])
def test_extras_build_and_add_what_they_should(is_conv):
    base = preset_spec("cnn" if is_conv else "mlp-relu")
    extra = ModelSpec(**{**base.to_dict(), "dropout": 0.2, "batch_norm": True, "l2": 1e-3, "augment": True})
    model = build_model(extra)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert {"Dropout", "BatchNormalization", "RandomTranslation", "RandomRotation"} <= set(kinds)
    # Batch norm adds 4 numbers per unit (2 trainable); nothing else adds parameters.
    units = sum(base.conv_filters) + sum(base.dense_units)
    assert model.count_params() == build_model(base).count_params() + 4 * units
    assert model.losses == [] or len(model.losses) == len(base.conv_filters) + len(base.dense_units)


def test_preset_names_are_the_talks():
    assert list(PRESETS) == ["mlp-raw", "mlp-rescaled", "mlp-relu", "cnn"]
    with pytest.raises(ValueError, match="choose one of mlp-raw, mlp-rescaled, mlp-relu, cnn"):
        preset_spec("resnet")


def _wiring(model) -> dict[str, list[str]]:
    """Each layer's name → the names of the layers feeding it, from Keras's own config."""
    return {
        layer["name"]: [node["args"][0]["config"]["keras_history"][0] for node in layer["inbound_nodes"]]
        if layer["class_name"] != "Add"
        else [t["config"]["keras_history"][0] for t in layer["inbound_nodes"][0]["args"][0]]
        for layer in model.get_config()["layers"]
        if layer["inbound_nodes"]
    }


@pytest.mark.parametrize("conv", [(), (8, 16)])
def test_skip_connections_add_each_blocks_input_to_its_output(conv):
    from dnnlab.limits import parameters

    spec = ModelSpec(conv_filters=conv, dense_units=(32, 32, 16), skip=True)
    keras.backend.clear_session()
    model = build_model(spec)
    kinds = [type(layer).__name__ for layer in model.layers]
    # one Add per convolution and per dense layer after the first
    assert kinds.count("Add") == len(conv) + len(spec.dense_units) - 1
    wiring = _wiring(model)
    for add in (name for name in wiring if name.startswith("add")):
        shortcut, body = wiring[add]
        assert type(model.get_layer(body)).__name__ in ("Conv2D", "Dense")
        assert shortcut != body
    assert model.count_params() == parameters(spec)  # the cap counts without building
    plain = ModelSpec(conv_filters=conv, dense_units=(32, 32, 16))
    assert parameters(plain) == build_model(plain).count_params()
    # The projections are what the skip adds: 1x1 convolutions (1→8, 8→16) and one
    # 32→16 linear map, all without biases.
    projections = (1 * 8 + 8 * 16 if conv else 0) + 32 * 16
    assert model.count_params() - build_model(plain).count_params() == projections


def test_identity_skip_keeps_the_shape_and_sums_the_two_paths():
    spec = ModelSpec(dense_units=(16, 16), activation="relu", skip=True)
    model = build_model(spec)
    x = np.random.default_rng(0).random((4, 784), dtype=np.float32)
    first, second = (la for la in model.layers if type(la).__name__ == "Dense" and la.units == 16)
    h1 = keras.ops.convert_to_numpy(first(x))
    expected = h1 + keras.ops.convert_to_numpy(second(h1))
    add = next(la for la in model.layers if type(la).__name__ == "Add")
    seen = keras.Model(model.inputs, add.output)(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(seen), expected, rtol=1e-5, atol=1e-6)


def test_skip_is_off_for_the_presets_and_shows_in_the_summary():
    assert not any(p.spec.skip for p in PRESETS.values())
    assert "Add" not in summary_text(build_model(preset_spec("cnn")))
    text = summary_text(build_model(ModelSpec(conv_filters=(8, 8), dense_units=(), skip=True)))
    assert text.count("(Add)") == 2 and "(Cropping2D)" in text


@pytest.mark.parametrize("conv", [(), (8, 16)])
def test_layer_by_layer_runs_follow_the_skip_connections(conv):
    """`dnnlab.probes` runs a network layer by layer (to silence units): with skip
    connections it must still compute what the model computes."""
    from dnnlab.probes import probe

    spec = ModelSpec(conv_filters=conv, dense_units=(16, 32, 32), skip=True)
    model = build_model(spec)
    x = np.random.default_rng(1).random((6, *spec.input_shape), dtype=np.float32)
    p = probe(model, spec)
    np.testing.assert_allclose(p.predict(x), keras.ops.convert_to_numpy(model(x)), rtol=1e-5, atol=1e-6)
    last_hidden = [name for name in p.lesionable if model.get_layer(name).output.shape[-1] == 32][-1]
    silenced = p.predict(x, {last_hidden: np.zeros(32)})
    assert not np.allclose(silenced, p.predict(x))
