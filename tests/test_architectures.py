"""The talk's four networks and the spec that builds them."""

import pytest

from dnnlab.architectures import PRESETS, ModelSpec, build_model, preset_of, preset_spec, summary_text

TALK_PARAMS = {"mlp-raw": 13_002, "mlp-rescaled": 13_002, "mlp-relu": 13_002, "cnn": 2_674}


@pytest.mark.parametrize("name", list(TALK_PARAMS))
def test_presets_have_the_talks_parameter_counts(name):
    assert build_model(preset_spec(name)).count_params() == TALK_PARAMS[name]


def test_cnn_output_shapes_match_the_talks_summary():
    model = build_model(preset_spec("cnn"))
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes == [(26, 26, 8), (13, 13, 8), (11, 11, 8), (5, 5, 8), (200,), (10,)]


def test_summary_text_has_keras_columns_and_totals():
    text = summary_text(build_model(preset_spec("cnn")))
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    assert "(None, 13, 13, 8)" in text
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
        ({"activation": "swish"}, "activation must be one of"),
        ({"dense_units": (0,)}, "dense_units"),
        ({"dropout": 1.5}, "dropout"),
        ({"conv_filters": (8, 8, 8), "pool_size": 2, "kernel_size": 5}, "too many convolution blocks"),
        ({"kernel_size": 4}, "kernel_size must be 3 or 5"),
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
