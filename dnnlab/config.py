"""What to train, as plain data: `ModelSpec`, `HyperParams`, the talk's presets, and the
Train form's table of settings. Imports neither Keras nor TensorFlow, so the pages, the
registry and the CLI can read a configuration without paying TensorFlow's start-up.

Every setting is declared once, in `SETTINGS`, like TensorFlow Playground's `state.ts`:
the same table parses query parameters, writes them back, says which widget shows it,
labels it, and bounds it (`ModelSpec` and `HyperParams` check their values against it).
A link names the nearest preset and only what differs from it, so a presenter can
bookmark `?preset=cnn&epochs=3`.

>>> config, messages = TrainConfig.from_query({"preset": "cnn", "epochs": "3"})
>>> config.hyper.epochs, config.preset, config.to_query()
(3, 'cnn', {'preset': 'cnn', 'epochs': '3'})
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")
MNIST_TRAIN_IMAGES = 60_000

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
NONE_WORDS = frozenset({"", "none", "-"})
# Query parameters that belong to someone else: Streamlit's own, and presentation mode's.
IGNORED_KEYS = frozenset({"embed", "embed_options", "present"})

# The Streamlit widget each kind of setting is shown with; "number" and "slider" both
# suit numbers, so a numeric setting names its own.
WIDGETS = frozenset({"toggle", "radio", "text_input", "number_input", "slider"})


@dataclass(frozen=True)
class Setting:
    """One control of the Train form: URL key, field, widget, label and allowed values."""

    key: str  # the query parameter
    field: str  # a ModelSpec or HyperParams field
    part: str  # "spec" or "hyper"
    kind: str  # "bool", "int", "float", "choice" or "ints" (a list of whole numbers)
    widget: str  # one of WIDGETS
    label: str
    group: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple = ()
    choice_labels: tuple = ()  # shown for `choices`, in the same order
    max_items: int = 0  # for "ints"
    help: str = ""

    def check(self, value, name: str | None = None) -> None:
        """A ValueError naming `name` (the URL key by default) if `value` is not allowed."""
        name = name or self.key
        if self.kind == "bool" and not isinstance(value, bool):
            raise ValueError(f"{name}={value!r} is not true or false")
        if self.kind == "choice":
            if value not in self.choices:
                allowed = ", ".join(map(str, self.choices))
                raise ValueError(f"{name}={value!r} is not one of {allowed}")
        elif self.kind == "ints":
            if len(value) > self.max_items:
                raise ValueError(f"{name}={value!r}: at most {self.max_items} layers")
            for v in value:
                self.check_bounds(v, name)
        elif self.kind in ("int", "float"):
            self.check_bounds(value, name)

    def check_bounds(self, value, name: str | None = None) -> None:
        if not self.low <= value <= self.high:
            raise ValueError(f"{name or self.key}={value!r} is outside {self.low:g}-{self.high:g}")

    def parse(self, text: str) -> Any:
        """The value of a query parameter (or text field), or a ValueError saying why not."""
        text = str(text).strip()
        if self.kind == "bool":
            if text.lower() in TRUE_WORDS:
                return True
            if text.lower() in FALSE_WORDS:
                return False
            raise ValueError(f"{self.key}={text!r} is not a yes/no value; use 1 or 0")
        if self.kind == "choice":
            value = next((c for c in self.choices if text == str(c)), text)
        elif self.kind == "ints":
            if text.lower() in NONE_WORDS:
                return ()
            try:
                value = tuple(int(part) for part in text.replace(" ", "").split(","))
            except ValueError:
                raise ValueError(
                    f"{self.key}={text!r}: write whole numbers separated by commas, e.g. 16,16"
                ) from None
        else:
            number = int if self.kind == "int" else float
            try:
                value = number(text)
            except ValueError:
                what = "a whole number" if self.kind == "int" else "a number"
                raise ValueError(f"{self.key}={text!r} is not {what}") from None
        self.check(value)
        return value

    def format(self, value) -> str:
        """The query-parameter text of a value; `parse(format(v)) == v`."""
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "ints":
            return ",".join(str(v) for v in value) if value else "none"
        return repr(value) if self.kind == "float" else str(value)

    def widget_kwargs(self, value) -> dict[str, Any]:
        """Keyword arguments for `st.<widget>` showing `value` (Streamlit-free data)."""
        kwargs: dict[str, Any] = {"label": self.label, "help": self.help or None}
        if self.widget == "toggle":
            return {**kwargs, "value": bool(value)}
        if self.widget == "radio":
            names = dict(zip(self.choices, self.choice_labels or map(str, self.choices), strict=True))
            return {**kwargs, "options": self.choices, "index": self.choices.index(value),
                    "format_func": names.get, "horizontal": True}  # fmt: skip
        if self.widget == "text_input":
            return {**kwargs, "value": ", ".join(map(str, value)), "placeholder": "none"}
        number = int if self.kind == "int" else float
        kwargs |= {"min_value": number(self.low), "max_value": number(self.high),
                   "step": number(self.step), "value": number(value)}  # fmt: skip
        if self.widget == "number_input" and self.kind == "float":
            kwargs["format"] = "%g"
        return kwargs

    def from_widget(self, value):
        """The field value of what the widget returned (a ValueError for bad text)."""
        if self.kind == "ints":
            return self.parse(value)
        if self.kind == "int":
            return int(value)
        if self.kind == "float":
            return float(value)
        return value


SETTINGS: tuple[Setting, ...] = (
    Setting("rescale", "rescale", "spec", "bool", "toggle", "Rescale pixels to 0–1", "Network",
            help="Divide the 0-255 pixel values by 255 before they enter the network."),
    Setting("act", "activation", "spec", "choice", "radio", "Activation", "Network",
            choices=ACTIVATIONS, help="'linear' means no non-linearity, as in the talk's first steps."),
    Setting("dense", "dense_units", "spec", "ints", "text_input", "Hidden dense layers (units)", "Network",
            low=1, high=1024, max_items=4, help="e.g. 16, 16 — empty for none"),
    Setting("conv", "conv_filters", "spec", "ints", "text_input", "Convolution filters", "Network",
            low=1, high=64, max_items=3, help="e.g. 8, 8 — empty for an MLP on the 784 pixels"),
    Setting("kernel", "kernel_size", "spec", "choice", "radio", "Kernel size", "Network",
            choices=(3, 5), choice_labels=("3×3", "5×5")),
    Setting("pool", "pool_size", "spec", "choice", "radio", "Max pooling", "Network",
            choices=(1, 2), choice_labels=("none", "2×2"),
            help="2×2 max pooling after each convolution, or none"),
    Setting("skip", "skip", "spec", "bool", "toggle", "Skip connections", "Network",
            help="Add each block's input to its output (a residual network); a projection "
                 "matches the sizes where they differ."),
    Setting("dropout", "dropout", "spec", "float", "slider", "Dropout", "Regularisation",
            low=0.0, high=0.8, step=0.05),
    Setting("bn", "batch_norm", "spec", "bool", "toggle", "Batch normalisation", "Regularisation"),
    Setting("l2", "l2", "spec", "float", "number_input", "L2 weight penalty", "Regularisation",
            low=0.0, high=0.1, step=0.0001),
    Setting("augment", "augment", "spec", "bool", "toggle", "Augmentation (shifts, rotations)",
            "Regularisation"),
    Setting("images", "train_images", "hyper", "choice", "radio", "Training images", "Training",
            choices=(1_000, 10_000, MNIST_TRAIN_IMAGES), choice_labels=("1k", "10k", "all 60k"),
            help="Train on the first 1,000 or 10,000 images so a big network finishes while "
                 "people watch; the test set stays the same."),
    Setting("val", "validation_split", "hyper", "float", "slider", "Validation split", "Training",
            low=0.0, high=0.45, step=0.05, help="The share of training images held out and scored each epoch."),
    Setting("epochs", "epochs", "hyper", "int", "number_input", "Epochs", "Training", low=1, high=200, step=1),
    Setting("batch", "batch_size", "hyper", "int", "number_input", "Batch size", "Training",
            low=1, high=4096, step=1),
    Setting("lr", "learning_rate", "hyper", "float", "number_input", "Learning rate", "Training",
            low=1e-5, high=1.0, step=0.0001),
    Setting("seed", "seed", "hyper", "int", "number_input", "Random seed", "Training",
            low=0, high=2**31 - 1, step=1, help="The same seed trains the same network twice."),
)  # fmt: skip
BY_KEY = {s.key: s for s in SETTINGS}
BY_FIELD = {s.field: s for s in SETTINGS}
GROUPS = tuple(dict.fromkeys(s.group for s in SETTINGS))


def _check_fields(instance, part: str) -> None:
    for s in SETTINGS:
        if s.part == part:
            s.check(getattr(instance, s.field), s.field)


@dataclass(frozen=True)
class ModelSpec:
    """What a network looks like and how its input is scaled.

    An empty `conv_filters` makes a multi-layer perceptron on the 784 flattened pixels;
    otherwise the image keeps its 28×28×1 shape and passes through Conv2D + MaxPooling2D
    blocks before the dense layers.
    """

    rescale: bool = True
    activation: str = "relu"
    dense_units: tuple[int, ...] = (16, 16)
    conv_filters: tuple[int, ...] = ()
    kernel_size: int = 3
    pool_size: int = 2
    skip: bool = False  # residual connections around the blocks (`architectures.graph_plan`)
    # The talk's "things to consider" when scaling up.
    dropout: float = 0.0
    batch_norm: bool = False
    l2: float = 0.0
    augment: bool = False

    def __post_init__(self):
        # Tuples keep the spec hashable even when built from JSON lists.
        object.__setattr__(self, "dense_units", tuple(int(u) for u in self.dense_units))
        object.__setattr__(self, "conv_filters", tuple(int(f) for f in self.conv_filters))
        _check_fields(self, "spec")
        side = 28
        for _ in self.conv_filters:
            side = (side - self.kernel_size + 1) // self.pool_size
            if side < 1:
                raise ValueError("too many convolution blocks for this kernel and pooling size")

    @property
    def is_conv(self) -> bool:
        return bool(self.conv_filters)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (28, 28, 1) if self.is_conv else (784,)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["dense_units"] = list(self.dense_units)
        d["conv_filters"] = list(self.conv_filters)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown spec fields {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)


@dataclass(frozen=True)
class HyperParams:
    """How to train: the talk's defaults (10 epochs, batches of 32, Adam at 0.001)."""

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 0.001
    seed: int = 0
    validation_split: float = 0.0
    train_images: int = MNIST_TRAIN_IMAGES  # the first N training images

    def __post_init__(self):
        _check_fields(self, "hyper")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    spec: ModelSpec
    talk_accuracy: float
    description: str = field(default="", compare=False)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "mlp-raw",
            "MLP, raw pixels",
            ModelSpec(rescale=False, activation="linear"),
            0.87,
            "784 → 16 → 16 → 10 on raw 0-255 pixels, no activation function.",
        ),
        Preset(
            "mlp-rescaled",
            "MLP, rescaled pixels",
            ModelSpec(rescale=True, activation="linear"),
            0.93,
            "The same network on pixels rescaled to 0-1.",
        ),
        Preset(
            "mlp-relu",
            "MLP with ReLU",
            ModelSpec(rescale=True, activation="relu"),
            0.96,
            "The same with a ReLU non-linearity on both hidden layers.",
        ),
        Preset(
            "cnn",
            "Small CNN",
            # The talk's CNN has no activation on its convolutions: max pooling is its
            # only non-linearity (its training log fits this network, not a ReLU one).
            ModelSpec(rescale=True, activation="linear", dense_units=(), conv_filters=(8, 8)),
            0.98,
            "Two linear 3×3 convolutions with 8 filters, each followed by 2×2 max pooling.",
        ),
    ]
}


def preset_spec(name: str) -> ModelSpec:
    """The spec of a preset, or a ValueError listing the presets."""
    try:
        return PRESETS[name].spec
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def preset_of(spec: ModelSpec) -> str | None:
    """The preset name a spec equals, if any."""
    return next((p.name for p in PRESETS.values() if p.spec == spec), None)


_SPEC_FIELDS = {f.name for f in dataclasses.fields(ModelSpec)}
_HYPER_FIELDS = {f.name for f in dataclasses.fields(HyperParams)}
assert all(s.widget in WIDGETS for s in SETTINGS)
assert {s.field for s in SETTINGS if s.part == "spec"} == _SPEC_FIELDS
assert {s.field for s in SETTINGS if s.part == "hyper"} == _HYPER_FIELDS


@dataclass(frozen=True)
class TrainConfig:
    """Everything the Train form sets: what network to build and how to train it."""

    spec: ModelSpec = ModelSpec()
    hyper: HyperParams = HyperParams()
    # How this run starts and ends, beyond the table's settings (not in the URL):
    keep_best: bool = False  # end with the lowest-validation-loss epoch's weights (needs a split)
    resume_from: str | None = None  # a saved model of the same network to train on from
    snapshots: bool = True  # record the layers as they learn (dnnlab.snapshots); the CLI's default is off

    def __post_init__(self):
        if not isinstance(self.keep_best, bool):
            raise ValueError(f"keep_best={self.keep_best!r} is not true or false")
        if self.resume_from is not None and not (isinstance(self.resume_from, str) and self.resume_from):
            raise ValueError(f"resume_from={self.resume_from!r} is not a model name")

    @property
    def keeps_best(self) -> bool:
        """Whether the best epoch is really kept: only a validation split can tell which."""
        return self.keep_best and self.hyper.validation_split > 0

    @property
    def preset(self) -> str | None:
        return preset_of(self.spec)

    def values(self) -> dict[str, Any]:
        """Field name → value, for every setting."""
        return {**dataclasses.asdict(self.spec), **dataclasses.asdict(self.hyper)}

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Build from field values; a ValueError says which value or combination is wrong."""
        unknown = set(values) - set(BY_FIELD)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(BY_FIELD)}")
        spec = {k: v for k, v in values.items() if k in _SPEC_FIELDS}
        hyper = {k: v for k, v in values.items() if k in _HYPER_FIELDS}
        return cls(ModelSpec(**spec), HyperParams(**hyper))

    def with_preset(self, name: str) -> TrainConfig:
        """The same training settings with a preset's network (no longer resuming a saved one)."""
        return dataclasses.replace(self, spec=preset_spec(name), resume_from=None)

    def train_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `training.train(spec, data, **kwargs)` (a resumed run's
        weights are the job's to load: `jobs.Job`)."""
        return {**dataclasses.asdict(self.hyper), "keep_best": self.keeps_best, "snapshots": self.snapshots}

    def to_query(self) -> dict[str, str]:
        """The nearest preset plus every value that differs from it (and from the defaults)."""
        base = _nearest_preset(self.spec)
        query = {"preset": base}
        reference = TrainConfig().with_preset(base).values()
        for name, value in self.values().items():
            if value != reference[name]:
                setting = BY_FIELD[name]
                query[setting.key] = setting.format(value)
        return query

    @classmethod
    def from_query(cls, query: Mapping[str, str | list[str]]) -> tuple[TrainConfig, list[str]]:
        """Parse query parameters; invalid ones fall back to the default, with a message each."""
        params = {k: (v[-1] if isinstance(v, list | tuple) else v) for k, v in query.items()}
        messages = []
        config = cls()
        if "preset" in params:
            try:
                config = config.with_preset(params["preset"])
            except ValueError as e:
                messages.append(f"URL: {e}.")
        values = config.values()
        for key, text in params.items():
            if key == "preset" or key in IGNORED_KEYS:
                continue
            setting = BY_KEY.get(key)
            if setting is None:
                messages.append(f"URL: ignored unknown setting {key!r}; known: {', '.join(BY_KEY)}.")
                continue
            try:
                candidate = {**values, setting.field: setting.parse(text)}
                cls.from_values(candidate)  # the dataclasses check combinations too
            except (ValueError, TypeError) as e:
                shown = setting.format(values[setting.field])
                messages.append(f"URL: {e}; using {setting.key}={shown}.")
                continue
            values = candidate
        return cls.from_values(values), messages


@dataclass(frozen=True)
class Scenario:
    """A one-click setting of the whole form, and the sentence that says what it shows."""

    label: str
    config: TrainConfig
    why: str


# A wide MLP on 1,000 images with a fifth held out: it learns the 800 by heart within a
# few epochs (a 256-256 MLP's validation loss turns up by epoch 3).
OVERFIT = TrainConfig(
    ModelSpec(dense_units=(256, 256)),
    HyperParams(epochs=30, validation_split=0.2, train_images=1_000),
)
# The cure: dropout, and the checkpoint of the epoch before the validation loss turned.
CURE = dataclasses.replace(OVERFIT, spec=dataclasses.replace(OVERFIT.spec, dropout=0.5), keep_best=True)
SCENARIOS = {
    "overfit": Scenario("1. Overfit it", OVERFIT,
                        "A wide network on 1,000 images learns them by heart: training accuracy climbs to "
                        "100% while the validation loss, on images it never trains on, turns and rises."),
    "cure": Scenario("2. Cure it", CURE,
                     "Dropout (half the units silenced at random each step) makes memorising hard, and "
                     "keeping the best epoch ends with the weights from before the validation loss rose."),
}  # fmt: skip


def _nearest_preset(spec: ModelSpec) -> str:
    """The preset whose network differs from `spec` in the fewest fields (first on ties)."""
    mine = dataclasses.asdict(spec)

    def distance(name: str) -> int:
        theirs = dataclasses.asdict(PRESETS[name].spec)
        return sum(mine[k] != theirs[k] for k in mine)

    return min(PRESETS, key=distance)
