"""Models as participants: the staircase, learning curves, errors, RSA and lesions.

Everything the Experiments page shows is computed here, from saved models and MNIST
arrays, with no Streamlit. The page caches these results per model file.

Representational similarity follows Kriegeskorte's recipe with `rsatoolbox`, the field's
RSA library: a representational dissimilarity matrix (RDM) holds 1 − Pearson
correlation between the activation patterns of every pair of images, and two RDMs are
compared by the Spearman correlation of their upper triangles.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dnnlab.architectures import PRESETS, ModelSpec, num_classes, prepare_inputs

CUSTOM = "custom"
PRESET_ORDER: tuple[str, ...] = (*PRESETS, CUSTOM)  # the talk's order, then the rest
# Layers whose output is a representation worth comparing; Flatten, Dropout, Reshape and
# the augmentation layers pass their input on unchanged at test time.
ANALYSED_LAYERS = frozenset({"Dense", "Conv2D", "MaxPooling2D"})
LESIONABLE_LAYERS = frozenset({"Dense", "Conv2D"})
RDM_METHODS = frozenset({"spearman", "rho-a"})
BATCH_SIZE = 2000


# --- the staircase and the table of runs ---------------------------------------------


def preset_group(meta: Mapping) -> str:
    """The preset a run belongs to, or 'custom'."""
    preset = meta.get("preset")
    return preset if preset in PRESETS else CUSTOM


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def in_talk_order(infos: Iterable) -> list:
    """Saved models (`registry.ModelInfo`) by preset in the talk's order, then by name."""
    rank = {p: i for i, p in enumerate(PRESET_ORDER)}
    return sorted(infos, key=lambda i: (rank[preset_group(i.meta)] if i.ok else len(rank), i.name))


def runs_table(infos: Iterable) -> pd.DataFrame:
    """One row per saved model (`registry.ModelInfo`), broken ones with their error.

    Sorted in the talk's order of presets, then by name.
    """
    rows = []
    for info in in_talk_order(infos):
        s = info.summary()
        rows.append(
            {
                "name": info.name,
                "preset": preset_group(info.meta) if info.ok else None,
                "params": s["params"],
                "epochs": s["epochs"],
                "test_accuracy": _finite(s["test_accuracy"]),
                "train_seconds": _finite(s["train_seconds"]),
                "created": s["created"],
                "error": info.error,
            }
        )
    columns = ["name", "preset", "params", "epochs", "test_accuracy", "train_seconds", "created", "error"]
    table = pd.DataFrame(rows, columns=columns)
    rank = table["preset"].map({p: i for i, p in enumerate(PRESET_ORDER)}).fillna(len(PRESET_ORDER))
    return (
        table.assign(_rank=rank).sort_values(["_rank", "name"]).drop(columns="_rank").reset_index(drop=True)
    )


def staircase(infos: Iterable) -> pd.DataFrame:
    """Usable models with a test accuracy: name, preset, test_accuracy, talk_accuracy."""
    table = runs_table(infos)
    table = table[table["error"].isna() & table["test_accuracy"].notna()]
    talk = {name: p.talk_accuracy for name, p in PRESETS.items()}
    return table.assign(talk_accuracy=table["preset"].map(talk))[
        ["name", "preset", "test_accuracy", "talk_accuracy"]
    ].reset_index(drop=True)


# --- learning curves ------------------------------------------------------------------


def learning_curves(histories: Mapping[str, Mapping]) -> pd.DataFrame:
    """Per-epoch loss and accuracy of several runs, in long form.

    Args:
        histories: run name → `meta["history"]` (Keras's `History.history`).

    Returns:
        Columns run, epoch (from 1), metric ('loss' or 'accuracy'), split ('training'
        or 'validation'), value.
    """
    rows = []
    for run, history in histories.items():
        for key, values in (history or {}).items():
            split = "validation" if key.startswith("val_") else "training"
            metric = key.removeprefix("val_")
            if metric not in ("loss", "accuracy"):
                continue
            for epoch, value in enumerate(values, start=1):
                if _finite(value) is not None:
                    rows.append((run, epoch, metric, split, float(value)))
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "split", "value"])


# --- forward passes -------------------------------------------------------------------


def analysed_layers(model) -> list[str]:
    """Names of the layers whose activations are representations (in order)."""
    return [layer.name for layer in model.layers if type(layer).__name__ in ANALYSED_LAYERS]


def forward(
    model,
    x: np.ndarray,
    *,
    masks: Mapping[str, np.ndarray] | None = None,
    record: Collection[str] = (),
    batch_size: int = BATCH_SIZE,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run prepared inputs through a model layer by layer, at test time.

    Args:
        masks: layer name → a vector over the layer's units (or channels); the layer's
            output is multiplied by it, so a 0 silences a unit. The model is not changed.
        record: names of layers whose outputs to return, flattened per image.

    Returns:
        (output probabilities, {layer name: N×features activations}).
    """
    masks = {name: np.asarray(m, dtype="float32") for name, m in (masks or {}).items()}
    names = {layer.name for layer in model.layers}
    unknown = (set(masks) | set(record)) - names
    if unknown:
        raise ValueError(
            f"no layer named {sorted(unknown)}; the layers are {[la.name for la in model.layers]}"
        )
    outputs, recorded = [], {name: [] for name in record}
    for start in range(0, len(x), batch_size):
        h = x[start : start + batch_size]
        for layer in model.layers:
            h = layer(h, training=False)
            if layer.name in masks:
                h = h * masks[layer.name]
            if layer.name in recorded:
                a = np.asarray(h)
                recorded[layer.name].append(a.reshape(len(a), -1))
        outputs.append(np.asarray(h))
    out = np.concatenate(outputs) if outputs else np.zeros((0, num_classes), "float32")
    return out, {name: np.concatenate(parts) for name, parts in recorded.items()}


_traced: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_traced_lock = threading.Lock()


def _traced_predict(model, spec: ModelSpec):
    """The forward pass with a mask on every lesionable layer, as one `tf.function`.

    Traced once per model: 3-4 times faster than calling the layers eagerly.
    """
    with _traced_lock:
        function = _traced.get(model)
        if function is None:
            import tensorflow as tf

            sizes = lesionable_layers(model)

            def run(x, masks):
                h, masks = x, dict(zip(sizes, masks, strict=True))
                for layer in model.layers:
                    h = layer(h, training=False)
                    if layer.name in masks:
                        h = h * masks[layer.name]
                return h

            signature = [
                tf.TensorSpec((None, *spec.input_shape), tf.float32),
                [tf.TensorSpec((n,), tf.float32) for n in sizes.values()],
            ]
            function = tf.function(run, input_signature=signature)
            _traced[model] = function
        return function


def predict(
    model, spec: ModelSpec, images: np.ndarray, masks: Mapping[str, np.ndarray] | None = None
) -> np.ndarray:
    """Class probabilities (N×10) of uint8 images, optionally with units silenced.

    Args:
        masks: lesionable layer name → a 0/1 vector over its units (see `forward`).
    """
    sizes = lesionable_layers(model)
    masks = masks or {}
    unknown = set(masks) - set(sizes)
    if unknown:
        raise ValueError(f"cannot mask {sorted(unknown)}; the lesionable layers are {sorted(sizes)}")
    vectors = [np.asarray(masks.get(name, np.ones(n)), dtype="float32") for name, n in sizes.items()]
    function = _traced_predict(model, spec)
    x = prepare_inputs(spec, images)
    parts = [np.asarray(function(x[i : i + BATCH_SIZE], vectors)) for i in range(0, len(x), BATCH_SIZE)]
    return np.concatenate(parts) if parts else np.zeros((0, num_classes), "float32")


# --- errors ---------------------------------------------------------------------------


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int = num_classes) -> np.ndarray:
    """Counts: rows are true labels, columns predicted labels."""
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """The fraction of each true class classified correctly (NaN for an absent class)."""
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / totals, np.nan)


@dataclass(frozen=True)
class ErrorReport:
    """How a model fails on a labelled set."""

    confusion: np.ndarray  # 10×10 counts, rows true, columns predicted
    mistakes: pd.DataFrame  # index, true, predicted, confidence; most confident first

    @property
    def total(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.total) if self.total else float("nan")

    @property
    def per_class(self) -> np.ndarray:
        return per_class_accuracy(self.confusion)

    def confusion_frame(self) -> pd.DataFrame:
        """The matrix in long form (true, predicted, count, share of the true class)."""
        n = len(self.confusion)
        true, predicted = np.divmod(np.arange(n * n), n)
        counts = self.confusion.ravel()
        totals = self.confusion.sum(axis=1)[true]
        share = np.divide(counts, totals, out=np.zeros(n * n), where=totals > 0)
        return pd.DataFrame({"true": true, "predicted": predicted, "count": counts, "share": share})


def mistakes(probabilities: np.ndarray, y_true: np.ndarray) -> pd.DataFrame:
    """The misclassified images, most confident mistakes first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    confidence = probabilities[wrong, predicted[wrong]]
    order = np.argsort(-confidence, kind="stable")
    return pd.DataFrame(
        {
            "index": wrong[order],
            "true": np.asarray(y_true)[wrong[order]].astype(int),
            "predicted": predicted[wrong[order]].astype(int),
            "confidence": confidence[order].astype(float),
        }
    )


def error_report(model, spec: ModelSpec, images: np.ndarray, labels: np.ndarray) -> ErrorReport:
    """Confusion matrix and mistakes of a model on uint8 images (e.g. the test set)."""
    probabilities = predict(model, spec, images)
    return ErrorReport(
        confusion_matrix(labels, probabilities.argmax(axis=1)), mistakes(probabilities, labels)
    )


# --- representational similarity ------------------------------------------------------


def rsa_sample(labels: np.ndarray, per_class: int = 50, seed: int = 0) -> np.ndarray:
    """Indices of a fixed, class-balanced sample, ordered by class (0s first)."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in range(num_classes):
        members = np.flatnonzero(np.asarray(labels) == c)
        if len(members) < per_class:
            raise ValueError(f"only {len(members)} images of digit {c}; need {per_class} per class")
        picks.append(np.sort(rng.choice(members, per_class, replace=False)))
    return np.concatenate(picks)


def rdm(patterns: np.ndarray) -> np.ndarray:
    """The RDM (1 − Pearson correlation) of N patterns (N×features), via rsatoolbox.

    A pattern with no variance (say, every ReLU of a layer silent for one image) has no
    defined correlation: it is counted as uncorrelated (dissimilarity 1) with the others.
    """
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    patterns = np.asarray(patterns, dtype=np.float64).reshape(len(patterns), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = calc_rdm(Dataset(patterns), method="correlation").get_matrices()[0]
    matrix = np.nan_to_num(matrix, nan=1.0)
    matrix = (matrix + matrix.T) / 2  # exact symmetry despite rounding
    np.fill_diagonal(matrix, 0.0)
    return matrix


def category_rdm(labels: np.ndarray) -> np.ndarray:
    """The ideal category RDM: 0 between images of the same digit, 1 between digits."""
    labels = np.asarray(labels)
    return (labels[:, None] != labels[None, :]).astype(np.float64)


def compare_rdms(a: np.ndarray, b: np.ndarray, method: str = "spearman") -> float:
    """The correlation of two RDMs' upper triangles (rsatoolbox `compare`)."""
    from rsatoolbox.rdm import RDMs, compare

    if method not in RDM_METHODS:
        raise ValueError(f"method must be one of {sorted(RDM_METHODS)}, not {method!r}")
    if a.shape != b.shape:
        raise ValueError(f"RDMs of different sizes: {a.shape} and {b.shape}")
    return float(compare(RDMs(a[np.newaxis]), RDMs(b[np.newaxis]), method=method)[0, 0])


@dataclass(frozen=True)
class RsaResult:
    """RDMs of the pixels and of each layer, and how each relates to pixels and digits."""

    labels: np.ndarray
    names: tuple[str, ...]  # 'pixels', then the layers in order
    rdms: tuple[np.ndarray, ...]
    vs_pixels: tuple[float, ...]
    vs_category: tuple[float, ...]

    def table(self) -> pd.DataFrame:
        """Long form for a line chart: stage, depth, compared_with, spearman."""
        rows = []
        for depth, (name, p, c) in enumerate(zip(self.names, self.vs_pixels, self.vs_category, strict=True)):
            rows.append({"stage": name, "depth": depth, "compared_with": "pixels", "spearman": p})
            rows.append({"stage": name, "depth": depth, "compared_with": "digit category", "spearman": c})
        return pd.DataFrame(rows)


def representational_similarity(
    model, spec: ModelSpec, images: np.ndarray, labels: np.ndarray, method: str = "spearman"
) -> RsaResult:
    """RDMs of pixels and every analysed layer for these images, compared by `method`."""
    layers = analysed_layers(model)
    _, activations = forward(model, prepare_inputs(spec, images), record=layers)
    names = ("pixels", *layers)
    rdms = (rdm(np.asarray(images).reshape(len(images), -1)), *(rdm(activations[n]) for n in layers))
    ideal = category_rdm(labels)
    return RsaResult(
        labels=np.asarray(labels),
        names=names,
        rdms=rdms,
        vs_pixels=tuple(compare_rdms(r, rdms[0], method) for r in rdms),
        vs_category=tuple(compare_rdms(r, ideal, method) for r in rdms),
    )


def rdm_image(matrix: np.ndarray, colormap: str = "viridis") -> np.ndarray:
    """An RDM as an RGB image (uint8), coloured by percentile within the RDM.

    Percentiles make RDMs of different layers comparable at a glance: the colour shows
    which pairs are relatively dissimilar, whatever the range of the values. Tied values
    share a colour.
    """
    from matplotlib import colormaps
    from scipy.stats import rankdata

    n = len(matrix)
    upper = np.triu_indices(n, 1)
    square = np.zeros((n, n))
    if len(upper[0]) > 1:
        ranks = rankdata(matrix[upper], method="average")
        square[upper] = (ranks - ranks.min()) / max(ranks.max() - ranks.min(), 1e-12)
        square += square.T
    return (colormaps[colormap](square)[..., :3] * 255).astype(np.uint8)


# --- lesions --------------------------------------------------------------------------


def lesionable_layers(model) -> dict[str, int]:
    """Hidden Dense and Conv2D layers (not the output layer) → their number of units."""
    hidden = model.layers[:-1]
    return {
        layer.name: int(layer.output.shape[-1])
        for layer in hidden
        if type(layer).__name__ in LESIONABLE_LAYERS
    }


def lesion_mask(units_in_layer: int, silenced: Collection[int]) -> np.ndarray:
    """A vector of ones with zeros at the silenced units."""
    bad = [u for u in silenced if not 0 <= int(u) < units_in_layer]
    if bad:
        raise ValueError(f"units {bad} out of range: this layer has units 0-{units_in_layer - 1}")
    mask = np.ones(units_in_layer, dtype="float32")
    mask[list(map(int, silenced))] = 0.0
    return mask


@dataclass(frozen=True)
class LesionResult:
    layer: str
    silenced: tuple[int, ...]
    intact: ErrorReport
    lesioned: ErrorReport

    @property
    def drop(self) -> float:
        return self.intact.accuracy - self.lesioned.accuracy

    def per_class(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "digit": np.arange(num_classes),
                "intact": self.intact.per_class,
                "lesioned": self.lesioned.per_class,
            }
        )


def lesion(
    model,
    spec: ModelSpec,
    images: np.ndarray,
    labels: np.ndarray,
    layer: str,
    silenced: Collection[int],
    intact: ErrorReport | None = None,
) -> LesionResult:
    """Test accuracy with some units (Dense) or channels (Conv2D) of a layer silenced.

    The layer's output is multiplied by a 0/1 mask during the forward pass: whatever
    the activation function, a silenced unit sends 0 onward. The model is not changed.
    """
    sizes = lesionable_layers(model)
    if layer not in sizes:
        raise ValueError(f"cannot lesion {layer!r}; choose one of {sorted(sizes)}")
    silenced = tuple(sorted({int(u) for u in silenced}))
    mask = lesion_mask(sizes[layer], silenced)
    intact = intact or error_report(model, spec, images, labels)
    probabilities = predict(model, spec, images, masks={layer: mask})
    lesioned = ErrorReport(
        confusion_matrix(labels, probabilities.argmax(axis=1)), mistakes(probabilities, labels)
    )
    return LesionResult(layer, silenced, intact, lesioned)


def _split_at(model, layer: str):
    """Two traced functions: the layers up to `layer`, and the rest after a mask."""
    import tensorflow as tf

    names = [la.name for la in model.layers]
    cut = names.index(layer) + 1
    head_layers, tail_layers = model.layers[:cut], model.layers[cut:]
    units = int(model.layers[cut - 1].output.shape[-1])

    def head(x):
        for la in head_layers:
            x = la(x, training=False)
        return x

    def tail(h, mask):
        h = h * mask
        for la in tail_layers:
            h = la(h, training=False)
        return h

    inner = tuple(model.layers[cut - 1].output.shape[1:])
    return (
        tf.function(head, input_signature=[tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)]),
        tf.function(
            tail,
            input_signature=[tf.TensorSpec((None, *inner), tf.float32), tf.TensorSpec((units,), tf.float32)],
        ),
    )


def single_unit_lesions(
    model, spec: ModelSpec, images: np.ndarray, labels: np.ndarray, layer: str
) -> pd.DataFrame:
    """Test accuracy with each unit of a layer silenced alone: unit, accuracy.

    The layers up to the lesioned one run once per batch; only the rest runs per unit.
    """
    sizes = lesionable_layers(model)
    if layer not in sizes:
        raise ValueError(f"cannot lesion {layer!r}; choose one of {sorted(sizes)}")
    head, tail = _split_at(model, layer)
    masks = [lesion_mask(sizes[layer], [unit]) for unit in range(sizes[layer])]
    x, labels = prepare_inputs(spec, images), np.asarray(labels)
    correct = np.zeros(len(masks))
    for start in range(0, len(x), BATCH_SIZE):
        h, y = head(x[start : start + BATCH_SIZE]), labels[start : start + BATCH_SIZE]
        for unit, mask in enumerate(masks):
            correct[unit] += int((np.asarray(tail(h, mask)).argmax(axis=1) == y).sum())
    return pd.DataFrame({"unit": np.arange(len(masks)), "accuracy": correct / max(len(x), 1)})
