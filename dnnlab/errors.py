"""How a model fails: class probabilities of a whole set, the confusion matrix, and its
most confident mistakes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dnnlab.architectures import ModelSpec, num_classes, prepare_inputs
from dnnlab.probes import probe


def predict(
    model, spec: ModelSpec, images: np.ndarray, masks: Mapping[str, np.ndarray] | None = None
) -> np.ndarray:
    """Class probabilities (N×10) of uint8 images, optionally with units silenced.

    Args:
        masks: lesionable layer name → a 0/1 vector over its units (see `Probe.predict`).
    """
    return probe(model, spec).predict(prepare_inputs(spec, images), masks)


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


def report(probabilities: np.ndarray, labels: np.ndarray) -> ErrorReport:
    """The confusion matrix and mistakes of these class probabilities."""
    return ErrorReport(
        confusion_matrix(labels, probabilities.argmax(axis=1)), mistakes(probabilities, labels)
    )


def error_report(model, spec: ModelSpec, images: np.ndarray, labels: np.ndarray) -> ErrorReport:
    """Confusion matrix and mistakes of a model on uint8 images (e.g. the test set)."""
    return report(predict(model, spec, images), labels)
