"""What do training snapshots cost? Prints, per preset, the training time with and without
them (interleaved, so machine noise hits both alike), the recorder's own time per
snapshot, and the size of the saved snapshots.npz.

    python bench/snapshots.py [--presets mlp-relu cnn] [--epochs 3] [--images 60000]
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnnlab import data, registry  # noqa: E402
from dnnlab.architectures import preset_spec  # noqa: E402
from dnnlab.training import train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", nargs="+", default=["mlp-relu", "cnn"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--images", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    arrays = data.load_mnist()
    for preset in args.presets:
        spec, plain, recorded = preset_spec(preset), [], []
        for _ in range(args.repeats):
            plain.append(train(spec, arrays, epochs=args.epochs, train_images=args.images).train_seconds)
            result = train(spec, arrays, epochs=args.epochs, train_images=args.images, snapshots=True)
            recorded.append(result.train_seconds)
        s = result.snapshots
        with tempfile.TemporaryDirectory() as folder:
            meta = registry.build_meta(result, data_digest="bench", name="bench")
            registry.save(result.model, meta, "bench", directory=Path(folder), snapshots=s)
            size = (Path(folder) / "bench" / registry.SNAPSHOTS_FILE).stat().st_size
        base, with_ = statistics.median(plain), statistics.median(recorded)
        print(
            f"{preset}: {args.epochs} epochs on {args.images:,} images, median of {args.repeats}: "
            f"{base:.1f} s without snapshots, {with_:.1f} s with ({with_ / base - 1:+.1%}); "
            f"{len(s)} snapshots of {len(s.layers)} layers, recorder {s.seconds:.2f} s in all "
            f"({s.seconds / len(s) * 1000:.0f} ms each, the first includes building the probe); "
            f"snapshots.npz {size / 1024:.0f} KB"
        )


if __name__ == "__main__":
    main()
