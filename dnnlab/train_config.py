"""The Train form as data: a `TrainConfig` (network spec + hyper-parameters) and its URL.

Every setting is declared once, in `SETTINGS`, like TensorFlow Playground's `state.ts`:
the same table parses query parameters, writes them back, bounds the values and labels
the widgets. A link names the nearest preset and only what differs from it, so a
presenter can bookmark `?preset=cnn&epochs=3`.

>>> config, messages = TrainConfig.from_query({"preset": "cnn", "epochs": "3"})
>>> config.hyper.epochs, config.preset, config.to_query()
(3, 'cnn', {'preset': 'cnn', 'epochs': '3'})
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dnnlab.architectures import ACTIVATIONS, PRESETS, ModelSpec, preset_of
from dnnlab.training import HyperParams

KINDS = frozenset({"bool", "int", "float", "choice", "ints"})
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
NONE_WORDS = frozenset({"", "none", "-"})
IGNORED_KEYS = frozenset({"embed", "embed_options"})  # Streamlit's own


@dataclass(frozen=True)
class Setting:
    """One control of the Train form: its URL key, the field it sets, bounds and label."""

    key: str  # the query parameter
    field: str  # a ModelSpec or HyperParams field
    part: str  # "spec" or "hyper"
    kind: str  # one of KINDS
    label: str
    group: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple = ()
    max_items: int = 0  # for "ints"
    help: str = ""

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
            for choice in self.choices:
                if text == str(choice):
                    return choice
            raise ValueError(f"{self.key}={text!r} is not one of {', '.join(map(str, self.choices))}")
        if self.kind == "ints":
            if text.lower() in NONE_WORDS:
                return ()
            try:
                values = tuple(int(part) for part in text.replace(" ", "").split(","))
            except ValueError:
                raise ValueError(
                    f"{self.key}={text!r}: write whole numbers separated by commas, e.g. 16,16"
                ) from None
            if len(values) > self.max_items:
                raise ValueError(f"{self.key}={text!r}: at most {self.max_items} layers")
            for v in values:
                self.check_bounds(v)
            return values
        number = int if self.kind == "int" else float
        try:
            value = number(text)
        except ValueError:
            what = "a whole number" if self.kind == "int" else "a number"
            raise ValueError(f"{self.key}={text!r} is not {what}") from None
        self.check_bounds(value)
        return value

    def check_bounds(self, value) -> None:
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError(f"{self.key}={value!r} is outside {self.low:g}-{self.high:g}")

    def format(self, value) -> str:
        """The query-parameter text of a value; `parse(format(v)) == v`."""
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "ints":
            return ",".join(str(v) for v in value) if value else "none"
        return repr(value) if self.kind == "float" else str(value)

    def to_widget(self, value):
        """The value a widget shows: text for layer lists, the value itself otherwise."""
        return ", ".join(str(v) for v in value) if self.kind == "ints" else value

    def from_widget(self, value):
        if self.kind == "ints":
            return self.parse(value)
        if self.kind == "int":
            return int(value)
        if self.kind == "float":
            return float(value)
        return value


SETTINGS: tuple[Setting, ...] = (
    Setting("rescale", "rescale", "spec", "bool", "Rescale pixels to 0–1", "Network",
            help="Divide the 0-255 pixel values by 255 before they enter the network."),
    Setting("act", "activation", "spec", "choice", "Activation", "Network",
            choices=tuple(sorted(ACTIVATIONS)), help="'linear' means no non-linearity, as in the talk's first steps."),
    Setting("dense", "dense_units", "spec", "ints", "Hidden dense layers (units)", "Network",
            low=1, high=1024, max_items=4, help="e.g. 16, 16 — empty for none"),
    Setting("conv", "conv_filters", "spec", "ints", "Convolution filters", "Network",
            low=1, high=64, max_items=3, help="e.g. 8, 8 — empty for an MLP on the 784 pixels"),
    Setting("kernel", "kernel_size", "spec", "choice", "Kernel size", "Network", choices=(3, 5)),
    Setting("pool", "pool_size", "spec", "choice", "Max pooling", "Network", choices=(1, 2),
            help="1 = no pooling, 2 = 2×2 max pooling after each convolution"),
    Setting("dropout", "dropout", "spec", "float", "Dropout", "Regularisation", low=0.0, high=0.8, step=0.05),
    Setting("bn", "batch_norm", "spec", "bool", "Batch normalisation", "Regularisation"),
    Setting("l2", "l2", "spec", "float", "L2 weight penalty", "Regularisation", low=0.0, high=0.1, step=0.0001),
    Setting("augment", "augment", "spec", "bool", "Augmentation (shifts, rotations)", "Regularisation"),
    Setting("val", "validation_split", "hyper", "float", "Validation split", "Training",
            low=0.0, high=0.45, step=0.05, help="The share of training images held out and scored each epoch."),
    Setting("epochs", "epochs", "hyper", "int", "Epochs", "Training", low=1, high=100, step=1),
    Setting("batch", "batch_size", "hyper", "int", "Batch size", "Training", low=1, high=4096, step=1),
    Setting("lr", "learning_rate", "hyper", "float", "Learning rate", "Training", low=1e-5, high=1.0, step=0.0001),
    Setting("seed", "seed", "hyper", "int", "Random seed", "Training", low=0, high=2**31 - 1, step=1,
            help="The same seed trains the same network twice."),
)  # fmt: skip
BY_KEY = {s.key: s for s in SETTINGS}
BY_FIELD = {s.field: s for s in SETTINGS}
GROUPS = tuple(dict.fromkeys(s.group for s in SETTINGS))

_spec_fields = {f.name for f in dataclasses.fields(ModelSpec)}
_hyper_fields = {f.name for f in dataclasses.fields(HyperParams)}
assert all(s.kind in KINDS for s in SETTINGS)
assert {s.field for s in SETTINGS if s.part == "spec"} == _spec_fields
assert {s.field for s in SETTINGS if s.part == "hyper"} == _hyper_fields


@dataclass(frozen=True)
class TrainConfig:
    """Everything the Train form sets: what network to build and how to train it."""

    spec: ModelSpec = ModelSpec()
    hyper: HyperParams = HyperParams()

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
        spec = {k: v for k, v in values.items() if k in _spec_fields}
        hyper = {k: v for k, v in values.items() if k in _hyper_fields}
        return cls(ModelSpec(**spec), HyperParams(**hyper))

    def with_preset(self, name: str) -> TrainConfig:
        """The same training settings with a preset's network."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return dataclasses.replace(self, spec=PRESETS[name].spec)

    def train_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `training.train(spec, data, **kwargs)`."""
        return dataclasses.asdict(self.hyper)

    def to_query(self) -> dict[str, str]:
        """The nearest preset plus every value that differs from it (and from the defaults)."""
        base = _nearest_preset(self.spec)
        query = {"preset": base}
        reference = TrainConfig().with_preset(base).values()
        for field, value in self.values().items():
            if value != reference[field]:
                setting = BY_FIELD[field]
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


def _nearest_preset(spec: ModelSpec) -> str:
    """The preset whose network differs from `spec` in the fewest fields (first on ties)."""
    mine = dataclasses.asdict(spec)

    def distance(name: str) -> int:
        theirs = dataclasses.asdict(PRESETS[name].spec)
        return sum(mine[k] != theirs[k] for k in mine)

    return min(PRESETS, key=distance)
