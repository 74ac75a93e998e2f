"""How much does DNN Lab's progress reporting cost? Prints the time ratio (target ≤ 1.05).

Trains one preset for the same epochs and batch size with a plain `model.fit` (no
callbacks) and through `dnnlab.training.train` with progress reporting on, interleaved
and repeated so that machine noise hits both alike. Both compile the same way
(`STEPS_PER_EXECUTION` batches per call), so the ratio isolates the reporting; the
talk's own settings (one batch per call) are timed once for reference.

    python bench/train_overhead.py [--preset mlp-relu] [--epochs 2] [--repeats 3]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnnlab import data  # noqa: E402
from dnnlab.architectures import build_model, compile_model, prepare_inputs, preset_spec  # noqa: E402
from dnnlab.training import STEPS_PER_EXECUTION, train  # noqa: E402


def plain_fit(spec, arrays, epochs, batch_size, steps_per_execution):
    import keras

    (x_train, y_train), _ = arrays
    keras.utils.set_random_seed(0)
    model = compile_model(build_model(spec), steps_per_execution=steps_per_execution)
    x = prepare_inputs(spec, x_train)
    started = time.perf_counter()
    model.fit(x, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mlp-relu")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    spec = preset_spec(args.preset)
    arrays = data.load_mnist()
    reports = []
    plain, dnnlab = [], []
    for i in range(args.repeats):
        plain.append(plain_fit(spec, arrays, args.epochs, args.batch_size, STEPS_PER_EXECUTION))
        result = train(
            spec,
            arrays,
            epochs=args.epochs,
            batch_size=args.batch_size,
            on_progress=reports.append,
            evaluate_test=False,
        )
        dnnlab.append(result.train_seconds)
        print(
            f"run {i + 1}: plain fit {plain[-1]:.2f} s, dnnlab.training.train {dnnlab[-1]:.2f} s", flush=True
        )
    talk = plain_fit(spec, arrays, args.epochs, args.batch_size, 1)

    ratio = statistics.median(dnnlab) / statistics.median(plain)
    per_second = len(reports) / sum(dnnlab)
    print(
        f"\npreset {args.preset}, {args.epochs} epochs, batch {args.batch_size}, {args.repeats} interleaved runs"
    )
    print(f"plain model.fit (median):           {statistics.median(plain):.2f} s")
    print(
        f"dnnlab.training.train (median):     {statistics.median(dnnlab):.2f} s  ({per_second:.1f} progress reports/s)"
    )
    print(f"ratio:                              {ratio:.3f}  (target <= 1.05)")
    print(
        f"talk's settings (1 batch per call): {talk:.2f} s, {talk / statistics.median(dnnlab):.1f}x slower than DNN Lab"
    )
    return 0 if ratio <= 1.05 else 1


if __name__ == "__main__":
    sys.exit(main())
