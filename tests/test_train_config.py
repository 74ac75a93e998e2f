"""The Train form's config and its URL: one table drives parsing and writing."""

import dataclasses
import doctest

import pytest

from dnnlab import train_config
from dnnlab.architectures import PRESETS, ModelSpec
from dnnlab.train_config import BY_KEY, SETTINGS, TrainConfig
from dnnlab.training import HyperParams

CUSTOM = TrainConfig(
    ModelSpec(
        rescale=False,
        activation="tanh",
        dense_units=(32,),
        conv_filters=(4, 6),
        kernel_size=5,
        pool_size=2,
        dropout=0.25,
        batch_norm=True,
        l2=0.0003,
        augment=True,
    ),
    HyperParams(epochs=3, batch_size=64, learning_rate=0.003, seed=7, validation_split=0.1),
)


def test_the_table_covers_every_field_once():
    fields = [s.field for s in SETTINGS]
    assert sorted(fields) == sorted(
        [f.name for f in dataclasses.fields(ModelSpec)] + [f.name for f in dataclasses.fields(HyperParams)]
    )
    assert len({s.key for s in SETTINGS}) == len(SETTINGS)


@pytest.mark.parametrize("config", [TrainConfig(), CUSTOM] + [TrainConfig().with_preset(p) for p in PRESETS])
def test_query_round_trip(config):
    query = config.to_query()
    assert all(isinstance(v, str) for v in query.values())
    back, messages = TrainConfig.from_query(query)
    assert messages == []
    assert back == config


def test_a_bookmark_names_the_preset_and_what_differs():
    config, messages = TrainConfig.from_query({"preset": "cnn", "epochs": "3"})
    assert messages == []
    assert config.spec == PRESETS["cnn"].spec
    assert config.hyper.epochs == 3
    assert config.to_query() == {"preset": "cnn", "epochs": "3"}
    # A custom network is written as its nearest preset plus the differences.
    relu_dropout = TrainConfig(dataclasses.replace(PRESETS["mlp-relu"].spec, dropout=0.2))
    assert relu_dropout.to_query() == {"preset": "mlp-relu", "dropout": "0.2"}


def test_every_setting_parses_what_it_writes():
    values = CUSTOM.values()
    for s in SETTINGS:
        assert s.parse(s.format(values[s.field])) == values[s.field], s.key
    assert BY_KEY["rescale"].parse("yes") is True
    assert BY_KEY["conv"].parse("") == ()
    assert BY_KEY["conv"].parse(" 8, 8 ") == (8, 8)
    assert BY_KEY["kernel"].parse("5") == 5


@pytest.mark.parametrize(
    "key, text, fragment",
    [
        ("epochs", "abc", "not a whole number"),
        ("epochs", "0", "outside 1-100"),
        ("lr", "fast", "not a number"),
        ("act", "softmax", "not one of linear, relu, sigmoid, tanh"),
        ("conv", "8,x", "whole numbers separated by commas"),
        ("conv", "8,8,8,8", "at most 3 layers"),
        ("rescale", "maybe", "yes/no"),
    ],
)
def test_invalid_values_fall_back_with_a_message(key, text, fragment):
    config, messages = TrainConfig.from_query({"preset": "cnn", key: text, "seed": "5"})
    assert config == dataclasses.replace(TrainConfig().with_preset("cnn"), hyper=HyperParams(seed=5))
    assert len(messages) == 1
    assert key in messages[0] and fragment in messages[0]
    assert "using" in messages[0]


def test_invalid_combination_keeps_the_earlier_value():
    # Three 5×5 convolutions with pooling do not fit a 28×28 image.
    config, messages = TrainConfig.from_query({"conv": "8,8,8", "kernel": "5"})
    assert config.spec.conv_filters == (8, 8, 8)
    assert config.spec.kernel_size == 3
    assert len(messages) == 1 and "kernel" in messages[0]


def test_unknown_preset_and_key_are_reported():
    config, messages = TrainConfig.from_query({"preset": "resnet", "epoch": "3", "embed": "true"})
    assert config == TrainConfig()
    assert any("resnet" in m and "mlp-raw" in m for m in messages)
    assert any("'epoch'" in m for m in messages)
    assert len(messages) == 2


def test_repeated_parameters_use_the_last_value():
    config, _ = TrainConfig.from_query({"epochs": ["2", "4"]})
    assert config.hyper.epochs == 4


def test_widget_values_and_train_kwargs():
    s = BY_KEY["dense"]
    assert s.to_widget((16, 16)) == "16, 16"
    assert s.from_widget("16, 16") == (16, 16)
    with pytest.raises(ValueError, match="dense"):
        s.from_widget("sixteen")
    assert BY_KEY["epochs"].from_widget(3.0) == 3
    assert CUSTOM.train_kwargs() == {
        "epochs": 3,
        "batch_size": 64,
        "learning_rate": 0.003,
        "seed": 7,
        "validation_split": 0.1,
    }
    with pytest.raises(ValueError, match="unknown settings"):
        TrainConfig.from_values({"epoch": 3})
    with pytest.raises(ValueError, match="unknown preset"):
        TrainConfig().with_preset("vgg")


def test_module_examples():
    assert doctest.testmod(train_config).failed == 0
