"""Representations forming during training: each layer, seen on fixed images, as it learns.

While a network trains, `SnapshotRecorder` (a Keras callback) runs 100 fixed test images
(10 of each digit, `stimuli`) through every layer, with `dnnlab.probes`, and keeps each
layer's RDM (`dnnlab.rsa`) and the last hidden layer's activations: before the first
step, a few times in the first epoch (when most of the change happens) and at every
epoch's end. When training ends the activations become a 2-D embedding (`embed`).

A snapshot costs one forward pass of 100 images and one RDM per layer (bench/snapshots.py
prints the figures); at most `MAX_SNAPSHOTS` are kept, so a long run records every k-th
epoch rather than slowing down.

`Snapshots` is what is saved beside the model (`registry.save`); `Snapshots.from_arrays`
checks arrays read back from a file (untrusted) field by field.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import keras
import numpy as np

from dnnlab import rsa
from dnnlab.architectures import ModelSpec, num_classes, prepare_inputs
from dnnlab.probes import LOGITS, probe

PER_CLASS = 10  # 100 stimuli: a 100×100 RDM per layer, 10 KB as float16
STIMULI_SEED = 0
FIRST_EPOCH_FRACTIONS = (0.1, 0.25, 0.5)  # of the first epoch's batches
MAX_SNAPSHOTS = 60
MAX_LAYERS = 40
MAX_STIMULI = 500
LAYER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class SnapshotError(ValueError):
    """Snapshot arrays that are not what `Snapshots.to_arrays` writes; the message says why."""


def stimuli(labels: np.ndarray, per_class: int = PER_CLASS) -> np.ndarray:
    """Indices of the fixed images: `per_class` of each digit, chosen by a fixed seed,
    ordered by class (the same images every run)."""
    return rsa.rsa_sample(labels, per_class=per_class, seed=STIMULI_SEED)


def last_hidden(stages: list[str]) -> str:
    """The layer whose activations are embedded: the last before the output's logits."""
    inner = [s for s in stages if s not in (rsa.PIXELS, LOGITS)][:-1]  # without the output
    return inner[-1] if inner else LOGITS


def separability(matrix: np.ndarray, labels: np.ndarray) -> float:
    """Mean dissimilarity between images of different digits over the mean between images
    of the same digit: 1 when the classes are mixed, larger as they pull apart."""
    labels = np.asarray(labels)
    upper = np.triu(np.ones(matrix.shape, dtype=bool), 1)
    same = (labels[:, None] == labels[None, :]) & upper
    different = (labels[:, None] != labels[None, :]) & upper
    within = float(matrix[same].mean())
    return float(matrix[different].mean()) / within if within > 0 else math.inf


def embed(activations: list[np.ndarray]) -> np.ndarray:
    """Every snapshot's activations (each images×units) as 2-D points, (snapshots, images, 2).

    One projection for all: the first two principal axes of the LAST snapshot's
    activations, so the picture does not jump between snapshots (a PCA per snapshot
    flips and rotates its axes at will). Each snapshot is centred on its own mean and
    scaled to the same spread (unit RMS distance from the centre), so the slider shows
    the arrangement changing, not the activations growing.
    """
    final = activations[-1] - activations[-1].mean(axis=0)
    _, _, axes = np.linalg.svd(final, full_matrices=False)
    axes = axes[:2]
    if len(axes) < 2:  # a single unit: its values on one axis
        axes = np.vstack([axes, np.zeros_like(axes)])
    points = []
    for a in activations:
        p = (a - a.mean(axis=0)) @ axes.T
        spread = np.sqrt((p**2).sum(axis=1).mean())
        points.append(p / spread if spread > 0 else p)
    return np.stack(points).astype(np.float32)


@dataclass(frozen=True)
class Snapshots:
    """The layers of one training run, seen on fixed images at `len(epoch)` moments."""

    epoch: np.ndarray  # (n,) float32: epochs done, 0 before training, 0.25 a quarter in
    step: np.ndarray  # (n,) int32: batches done
    stimuli: np.ndarray  # (m,) int32: indices into the MNIST test set
    labels: np.ndarray  # (m,) uint8: their digits
    layers: tuple[str, ...]  # the layers with an RDM (probes' names, LOGITS included)
    rdms: np.ndarray  # (n, layers, m(m-1)/2) float16: each RDM's upper triangle
    embedded_layer: str
    embedding: np.ndarray  # (n, m, 2) float32
    seconds: float = 0.0  # what recording cost (not saved)

    def __len__(self) -> int:
        return len(self.epoch)

    def rdm(self, snapshot: int, layer: str) -> np.ndarray:
        """One layer's RDM at one snapshot, as a square matrix."""
        m = len(self.labels)
        square = np.zeros((m, m))
        square[np.triu_indices(m, 1)] = self.rdms[snapshot, self.layers.index(layer)]
        return square + square.T

    def separation(self) -> np.ndarray:
        """`separability` of the embedded layer's RDM at every snapshot."""
        return np.array(
            [separability(self.rdm(i, self.embedded_layer), self.labels) for i in range(len(self))]
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "epoch": self.epoch,
            "step": self.step,
            "stimuli": self.stimuli,
            "labels": self.labels,
            "layers": np.array(self.layers),
            "rdms": self.rdms,
            "embedded_layer": np.array(self.embedded_layer),
            "embedding": self.embedding,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Snapshots:
        """Check arrays read from a file (untrusted): names, dtypes, shapes, values."""
        missing = set(cls.__dataclass_fields__) - {"seconds"} - set(arrays)
        if missing:
            raise SnapshotError(f"no {sorted(missing)[0]!r} array")

        def array(key, kinds, ndim):
            a = arrays[key]
            if a.dtype.kind not in kinds or a.ndim != ndim:
                raise SnapshotError(f"{key!r} is a {a.ndim}-D {a.dtype} array, not what DNN Lab writes")
            return a

        epoch, step = array("epoch", "f", 1), array("step", "iu", 1)
        labels, indices = array("labels", "iu", 1), array("stimuli", "iu", 1)
        layers, hidden = array("layers", "U", 1), array("embedded_layer", "U", 0)
        rdms, embedding = array("rdms", "f", 3), array("embedding", "f", 3)
        n, m = len(epoch), len(labels)
        if not 1 <= n <= MAX_SNAPSHOTS or not 2 <= m <= MAX_STIMULI or not 1 <= len(layers) <= MAX_LAYERS:
            raise SnapshotError(f"{n} snapshots of {m} images and {len(layers)} layers: out of bounds")
        names = tuple(str(s) for s in layers)
        if not all(LAYER_NAME.fullmatch(s) for s in names) or str(hidden) not in names:
            raise SnapshotError("layer names that DNN Lab never writes")
        shapes = {
            "step": (n,),
            "stimuli": (m,),
            "rdms": (n, len(names), m * (m - 1) // 2),
            "embedding": (n, m, 2),
        }
        for key, shape in shapes.items():
            if arrays[key].shape != shape:
                raise SnapshotError(f"{key!r} has shape {arrays[key].shape}, expected {shape}")
        if not (np.isfinite(epoch).all() and np.isfinite(rdms).all() and np.isfinite(embedding).all()):
            raise SnapshotError("non-finite values")
        if labels.min() < 0 or labels.max() >= num_classes or np.any(np.diff(epoch) < 0):
            raise SnapshotError("digits outside 0-9, or epochs out of order")
        return cls(
            epoch=epoch.astype(np.float32),
            step=step.astype(np.int32),
            stimuli=indices.astype(np.int32),
            labels=labels.astype(np.uint8),
            layers=names,
            rdms=rdms.astype(np.float16),
            embedded_layer=str(hidden),
            embedding=embedding.astype(np.float32),
        )


class SnapshotRecorder(keras.callbacks.Callback):
    """Records `network`'s layers on the stimuli during `fit` (pass it in `callbacks`).

    `network` is the model being trained (its weights, not a copy); `batches_per_epoch`
    and `epochs` place the first-epoch snapshots and thin out the epoch ends so that at
    most `MAX_SNAPSHOTS` are kept. `result()` gives the `Snapshots` after training.
    """

    def __init__(
        self, network, spec: ModelSpec, test_images, test_labels, *, batches_per_epoch: int, epochs: int
    ):
        super().__init__()
        self.network, self.spec = network, spec
        self.indices = stimuli(test_labels)
        self.labels = np.asarray(test_labels)[self.indices].astype(np.uint8)
        self.x = prepare_inputs(spec, np.asarray(test_images)[self.indices])
        self.layers = rsa.stages(network)[1:]
        self.hidden = last_hidden(self.layers)
        self.batches_per_epoch = max(1, batches_per_epoch)
        self.first_epoch = sorted(
            {
                s
                for f in FIRST_EPOCH_FRACTIONS
                if 0 < (s := round(f * self.batches_per_epoch)) < self.batches_per_epoch
            }
        )
        self.every = max(1, math.ceil(epochs / (MAX_SNAPSHOTS - 2 - len(self.first_epoch))))
        self.records: list[tuple[float, int, np.ndarray, np.ndarray]] = []
        self.seconds = 0.0
        self.step = 0

    def _record(self) -> None:
        if self.records and self.records[-1][1] == self.step:
            return
        started = time.perf_counter()
        features = probe(self.network, self.spec).features(self.x, self.layers)
        upper = np.triu_indices(len(self.x), 1)
        rdms = np.stack([rsa.rdm(features[name])[upper] for name in self.layers]).astype(np.float16)
        self.records.append((self.step / self.batches_per_epoch, self.step, rdms, features[self.hidden]))
        self.seconds += time.perf_counter() - started

    def on_train_begin(self, logs=None):
        self.records, self.seconds, self.step = [], 0.0, 0
        self._record()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # As in `ProgressCallback`: with several steps per execution Keras calls this
        # once per execution, with the index of its last batch.
        self.step = self.epoch * self.batches_per_epoch + min(batch + 1, self.batches_per_epoch)
        if self.first_epoch and self.epoch == 0 and self.step >= self.first_epoch[0]:
            self.first_epoch = [s for s in self.first_epoch if s > self.step]
            self._record()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._record()

    def on_train_end(self, logs=None):
        self._record()  # the final weights, whatever the stride (kept once if just recorded)

    def result(self) -> Snapshots:
        epochs, steps, rdms, hidden = zip(*self.records, strict=True)
        return Snapshots(
            epoch=np.array(epochs, dtype=np.float32),
            step=np.array(steps, dtype=np.int32),
            stimuli=self.indices.astype(np.int32),
            labels=self.labels,
            layers=tuple(self.layers),
            rdms=np.stack(rdms),
            embedded_layer=self.hidden,
            embedding=embed(list(hidden)),
            seconds=self.seconds,
        )
