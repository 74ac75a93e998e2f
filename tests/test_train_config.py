"""The Train form's config and its URL: one table drives parsing, writing, widgets, bounds."""

import dataclasses
import doctest
import subprocess
import sys
from pathlib import Path

import pytest

from dnnlab import config as config_module
from dnnlab.config import BY_KEY, PRESETS, SETTINGS, WIDGETS, HyperParams, ModelSpec, TrainConfig

ROOT = Path(__file__).resolve().parent.parent

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
        skip=True,
    ),
    HyperParams(
        epochs=3, batch_size=64, learning_rate=0.003, seed=7, validation_split=0.1, train_images=10_000
    ),
)


def test_reading_a_config_loads_neither_keras_nor_tensorflow():
    code = (
        "import sys; import dnnlab.config; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.key)
def test_the_dataclasses_refuse_what_the_table_refuses(setting):
    """One set of bounds: a value just outside the form's range is refused by the dataclass
    too, and the range's ends are accepted."""
    cls = ModelSpec if setting.part == "spec" else HyperParams
    base = PRESETS["cnn"].spec if setting.field in ("conv_filters", "kernel_size", "pool_size") else cls()
    if setting.kind == "ints":
        cases = {(int(setting.low),): True, (int(setting.high),): True, (int(setting.high) + 1,): False,
                 (int(setting.low) - 1,): False, (1,) * setting.max_items: True, (1,) * (setting.max_items + 1): False}  # fmt: skip
    elif setting.kind in ("int", "float"):
        tiny = 1 if setting.kind == "int" else 1e-9
        cases = {setting.low: True, setting.high: True, setting.low - tiny: False, setting.high + tiny: False}
    elif setting.kind == "choice":
        cases = {**dict.fromkeys(setting.choices, True), "nonsense": False, 4: False}
    else:
        cases = {True: True, False: True}
    for value, allowed in cases.items():
        if setting.field == "conv_filters" and len(value) > 2:
            base = dataclasses.replace(base, pool_size=1)  # three pooled blocks do not fit 28×28
        if allowed:
            dataclasses.replace(base, **{setting.field: value})
            assert setting.parse(setting.format(value)) == value
        else:
            with pytest.raises(ValueError, match=setting.field):
                dataclasses.replace(base, **{setting.field: value})


def test_every_setting_names_its_widget_and_the_widget_shows_the_value():
    values = CUSTOM.values()
    for s in SETTINGS:
        assert s.widget in WIDGETS and s.label
        kwargs = s.widget_kwargs(values[s.field])
        if s.widget == "radio":
            shown = kwargs["options"][kwargs["index"]]
            assert shown == values[s.field]
            assert len({kwargs["format_func"](c) for c in s.choices}) == len(s.choices)
        else:
            shown = kwargs["value"]
        assert s.from_widget(shown) == values[s.field], s.key
        if s.widget in ("number_input", "slider"):
            assert (kwargs["min_value"], kwargs["max_value"]) == (s.low, s.high)
    assert BY_KEY["pool"].widget_kwargs(1)["format_func"](1) == "none"
    assert BY_KEY["images"].widget_kwargs(60_000)["format_func"](60_000) == "all 60k"


def test_presentation_mode_in_the_url_is_not_a_training_setting():
    config, messages = TrainConfig.from_query({"preset": "cnn", "present": "1"})
    assert messages == [] and config == TrainConfig().with_preset("cnn")


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
        ("epochs", "0", "outside 1-200"),
        ("images", "500", "not one of 1000, 10000, 60000"),
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
    assert s.widget_kwargs((16, 16))["value"] == "16, 16"
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
        "train_images": 10_000,
        "keep_best": False,
        "snapshots": True,
    }
    with pytest.raises(ValueError, match="unknown settings"):
        TrainConfig.from_values({"epoch": 3})
    with pytest.raises(ValueError, match="unknown preset"):
        TrainConfig().with_preset("vgg")


def test_module_examples():
    assert doctest.testmod(config_module).failed == 0


def test_skip_connections_are_a_validated_toggle_off_by_default():
    assert not ModelSpec().skip and not any(p.spec.skip for p in PRESETS.values())
    with pytest.raises(ValueError, match="skip='yes' is not true or false"):
        ModelSpec(skip="yes")
    config, messages = TrainConfig.from_query({"preset": "mlp-relu", "skip": "1"})
    assert messages == [] and config.spec.skip and config.to_query() == {"preset": "mlp-relu", "skip": "1"}
    config, messages = TrainConfig.from_query({"preset": "cnn", "skip": "maybe"})
    assert not config.spec.skip and messages == [
        "URL: skip='maybe' is not a yes/no value; use 1 or 0; using skip=0."
    ]
    assert ModelSpec.from_dict({k: v for k, v in ModelSpec().to_dict().items() if k != "skip"}) == ModelSpec()


def test_keeping_the_best_epoch_needs_a_validation_split_and_a_preset_ends_a_resume():
    kept = dataclasses.replace(CUSTOM, keep_best=True, resume_from="mine")
    assert kept.train_kwargs()["keep_best"] is True  # CUSTOM holds back 10%
    unsplit = dataclasses.replace(kept, hyper=dataclasses.replace(CUSTOM.hyper, validation_split=0.0))
    assert unsplit.train_kwargs()["keep_best"] is False
    assert kept.to_query() == CUSTOM.to_query()  # how a run starts and ends is not a bookmark
    assert kept.with_preset("cnn").resume_from is None  # another network cannot resume "mine"
    with pytest.raises(ValueError, match="keep_best"):
        TrainConfig(keep_best="yes")
    with pytest.raises(ValueError, match="resume_from"):
        TrainConfig(resume_from="")
