"""Checkpoints during training, in memory: the talk's "saving checkpoints".

`BestWeights` is Keras's `ModelCheckpoint(save_best_only=True)` without the file: at each
epoch's end it keeps a copy of the weights if the monitored figure (validation loss) is
the best so far, and at the end of training puts the best epoch's weights back. A
network that starts to overfit is therefore saved as it was before it did.
"""

from __future__ import annotations

import math

import keras


class BestWeights(keras.callbacks.Callback):
    """Keep the weights of the epoch with the lowest `monitor` (validation loss), and
    restore them when training ends.

    `best_epoch` is 1-based (None until an epoch reported `monitor`, for instance without
    a validation split); `weights_of` is the model whose weights are kept, when it is not
    the model being fitted (a wrapper around it).
    """

    def __init__(self, monitor: str = "val_loss", weights_of=None):
        super().__init__()
        self.monitor = monitor
        self.weights_of = weights_of
        self.best = math.inf
        self.best_epoch: int | None = None
        self.best_weights: list | None = None

    @property
    def _target(self):
        return self.weights_of if self.weights_of is not None else self.model

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        if float(value) < self.best:
            self.best, self.best_epoch = float(value), epoch + 1
            self.best_weights = [w.copy() for w in self._target.get_weights()]

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self._target.set_weights(self.best_weights)
