"""Single-image prediction latency per preset: a 280×280 RGBA drawing to ten probabilities.

Target: median ≤ 5 ms for the CNN on a 2-core machine. Uses the shipped models.
`--while-training` measures again while a CNN trains on full MNIST, either in a thread of
this process (how the server trained before `dnnlab.worker`) or in the training process.

    python bench/predict_latency.py [--runs 300] [--while-training thread|process]
"""

import argparse
import contextlib
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnnlab import data, inference, preprocess, registry, training  # noqa: E402
from dnnlab.architectures import PRESETS, ModelSpec  # noqa: E402
from dnnlab.worker import Worker  # noqa: E402


def drawing() -> np.ndarray:
    """A '7' as the canvas returns it: white strokes on a transparent 280×280 RGBA image."""
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.line([(70, 60), (210, 60), (120, 230)], fill=(255, 255, 255, 255), width=20, joint="curve")
    return np.asarray(image)


@contextlib.contextmanager
def training_in(where: str | None):
    """A CNN training on full MNIST for the duration of the block, in a "thread" of this
    process or in the training "process"; nothing when `where` is None."""
    if where is None:
        yield
        return
    stop, started = threading.Event(), threading.Event()
    train = training.train if where == "thread" else Worker().train
    thread = threading.Thread(
        target=train,
        args=(PRESETS["cnn"].spec, data.load_mnist()),
        kwargs=dict(epochs=50, on_progress=lambda record: started.set(), stop_event=stop),
        daemon=True,
    )
    thread.start()
    started.wait()
    print(f"(while a CNN trains on full MNIST in a {where})")
    try:
        yield
    finally:
        stop.set()
        thread.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--while-training", choices=["thread", "process"])
    args = parser.parse_args()
    image = drawing()
    with training_in(args.while_training):
        measure(image, args.runs, ["cnn"] if args.while_training else list(PRESETS))


def measure(image: np.ndarray, runs: int, names: list[str]) -> None:
    print(f"{'model':<14}{'median ms':>10}{'p95 ms':>9}{'prepare ms':>12}  prediction")
    for name in names:
        model, meta = registry.load(name)
        spec = ModelSpec.from_dict(meta["spec"])
        inference.predict(model, spec, image)  # trace the single-sample graph once
        total, prep = [], []
        for _ in range(runs):
            started = time.perf_counter()
            prepared = preprocess.prepare(image)
            middle = time.perf_counter()
            probabilities = inference.predict_prepared(model, spec, prepared)
            total.append(time.perf_counter() - started)
            prep.append(middle - started)
        ms = 1000 * np.array(total)
        print(
            f"{name:<14}{np.median(ms):>10.2f}{np.percentile(ms, 95):>9.2f}{1000 * np.median(prep):>12.2f}"
            f"  {int(np.argmax(probabilities))}"
        )


if __name__ == "__main__":
    main()
