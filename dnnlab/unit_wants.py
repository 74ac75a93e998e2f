"""What each unit wants: the test images that drive it most, and the image it would draw.

- `top_images`: for each convolution channel or hidden unit, the indices of the images
  with its largest response (a channel's response is its feature map's maximum, as Zeiler &
  Fergus chose their top patches).
- `maximise`: activation maximisation. From noise, gradient ascent on the input image
  raises one target (a class's log-probability, or a channel's mean response), with the usual
  regularisation (Simonyan et al. 2014; Yosinski et al. 2015): an L2 penalty keeps the
  image dim where the unit does not care, and a Gaussian blur every few steps removes the
  high-frequency patterns no digit has.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
from scipy import ndimage

from dnnlab.architectures import prepare_inputs
from dnnlab.probes import LOGITS, Probe

TOP = 9
CHUNK = 1000  # images per call: a conv layer's maps for 1,000 images take 20 MB
STEPS = 150
STEP_SIZE = 0.05  # of the full 0-1 pixel range, per step (the gradient is normalised)
DECAY = 0.02  # the L2 penalty: each step shrinks every pixel by this fraction
BLUR_EVERY = 5
BLUR_SIGMA = 0.6  # pixels


def unit_layers(probe: Probe) -> dict[str, int]:
    """Hidden Conv2D and Dense layers → their number of units (channels)."""
    return dict(probe.lesionable)


_peaks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # probe → layer → traced graph
_peaks_lock = threading.Lock()


def _peak_graph(probe: Probe, layer: str):
    """A traced graph from prepared inputs to each unit's maximum over space in `layer`
    (XLA for a conv layer, as `Probe.unit_responses`: its maps are most of the cost)."""
    import keras
    import tensorflow as tf

    with _peaks_lock:
        graphs = _peaks.setdefault(probe, {})
        if layer not in graphs:
            out = next(la for la in probe.layers if la.name == layer).output
            space = tuple(range(1, len(out.shape) - 1))
            head = keras.Model(probe.model.inputs[0], keras.ops.max(out, axis=space) if space else out)
            signature = [tf.TensorSpec((None, *probe.spec.input_shape), tf.float32)]
            graphs[layer] = tf.function(
                lambda x: head(x, training=False), input_signature=signature, jit_compile=bool(space)
            )
        return graphs[layer]


def responses(probe: Probe, images: np.ndarray, layer: str) -> np.ndarray:
    """(n, units) each unit's response to each image: a feature map's maximum over space."""
    graph = _peak_graph(probe, layer)
    parts = [
        np.asarray(graph(prepare_inputs(probe.spec, images[start : start + CHUNK])))
        for start in range(0, len(images), CHUNK)
    ]
    return np.concatenate(parts)


def top_images(probe: Probe, images: np.ndarray, layer: str, k: int = TOP) -> np.ndarray:
    """(units, k) indices into `images` of each unit's k strongest responses, strongest first."""
    r = responses(probe, images, layer)
    top = np.argpartition(-r, k - 1, axis=0)[:k].T  # (units, k), unordered
    order = np.argsort(-np.take_along_axis(r.T, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)


def _objective(probe: Probe, target: str):
    """A function from a batch of prepared inputs to one value per image to raise: image i
    raises class i's log-probability (from `LOGITS`) or channel/unit i's mean response (a layer's name)."""
    import keras
    import tensorflow as tf

    if target == LOGITS:
        output = probe.layers[-1]
        before = (
            keras.Model(probe.model.inputs[0], probe.layers[-2].output) if len(probe.layers) > 1 else None
        )

        def logits(x):
            h = before(x, training=False) if before is not None else x
            h = tf.reshape(h, (tf.shape(h)[0], -1))
            return tf.matmul(h, output.kernel) + output.bias

        # log p(class): raising a class's logit alone can raise a rival's more (the raw MLP is
        # linear, so its logits all grow with the ink); the log-probability cannot.
        return lambda x: tf.linalg.diag_part(tf.nn.log_softmax(logits(x)))
    layer = next(la for la in probe.layers if la.name == target)
    head = keras.Model(probe.model.inputs[0], layer.output)

    def mean_response(x):
        out = head(x, training=False)
        out = tf.reshape(out, (tf.shape(out)[0], -1, out.shape[-1]))  # (n, space, units)
        return tf.linalg.diag_part(tf.reduce_mean(out, axis=1))

    return mean_response


def maximise(probe: Probe, target: str = LOGITS, seed: int = 0, steps: int = STEPS) -> np.ndarray:
    """(units, 28, 28) images (0-255), image i maximising unit i of `target`: the ten classes'
    log-probabilities (`LOGITS`), or a hidden layer's channels or units."""
    import tensorflow as tf

    count = 10 if target == LOGITS else unit_layers(probe)[target]
    objective = _objective(probe, target)
    scale = 1.0 if probe.spec.rescale else 255.0  # the network's inputs for 0-1 images

    @tf.function
    def gradient(images):
        with tf.GradientTape() as tape:
            tape.watch(images)
            x = tf.reshape(images * scale, (count, *probe.spec.input_shape))
            value = tf.reduce_sum(objective(x))
        return tape.gradient(value, images)

    rng = np.random.default_rng(seed)
    images = np.clip(0.1 + 0.05 * rng.standard_normal((count, 28, 28)), 0, 1).astype(np.float32)
    for step in range(1, steps + 1):
        g = gradient(tf.constant(images)).numpy()
        g /= g.std(axis=(1, 2), keepdims=True) + 1e-8  # every unit climbs at the same pace
        # The L2 penalty as weight decay, outside the normalisation: near p = 1 the
        # objective's gradient is tiny, and a penalty inside would erase the image.
        images = np.clip(images * (1.0 - DECAY) + STEP_SIZE * g, 0.0, 1.0)
        if step % BLUR_EVERY == 0:
            images = ndimage.gaussian_filter(images, sigma=(0, BLUR_SIGMA, BLUR_SIGMA))
    return (images * 255.0).astype(np.float32)


def classify(probe: Probe, images: np.ndarray) -> np.ndarray:
    """The class each 28×28 image (0-255) is read as."""
    return np.argmax(probe.predict(prepare_inputs(probe.spec, images)), axis=1)
