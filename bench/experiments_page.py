"""Time each Experiments section's computation for the shipped models, as the page calls it.

Each figure is a first (uncached) call in a warm process; wall and CPU seconds.

    python bench/experiments_page.py
"""

import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnnlab import charts, data, errors, lesions, registry, rsa, staircase  # noqa: E402
from dnnlab.architectures import PRESETS, ModelSpec  # noqa: E402


@contextmanager
def timed(label):
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    print(
        f"{label:<30} wall {time.perf_counter() - wall:5.2f} s  cpu {time.process_time() - cpu:5.2f} s",
        flush=True,
    )


def measure(name, x, y):
    with timed(f"{name}: load"):
        model, meta = registry.load(name)
        spec = ModelSpec.from_dict(meta["spec"])
    with timed(f"{name}: errors"):
        report = errors.error_report(model, spec, x, y)
    with timed(f"{name}: RSA + images"):
        sample = rsa.rsa_sample(y)
        result = rsa.representational_similarity(model, spec, x[sample], y[sample])
        for rdm in result.rdms:
            charts.rdm_image(rdm)
    layer = next(iter(lesions.lesionable_layers(model)))
    with timed(f"{name}: lesion 2 units"):
        lesions.lesion(model, spec, x, y, layer, [0, 1], intact=report)


def main():
    with timed("MNIST"):
        _, (x, y) = data.load_mnist()
    with timed("staircase + learning curves"):
        infos = staircase.in_talk_order(registry.list_models())
        staircase.staircase(infos)
        staircase.runs_table(infos)
        staircase.learning_curves({i.name: i.meta["history"] for i in infos if i.ok})
    for name in PRESETS:
        measure(name, x, y)


if __name__ == "__main__":
    main()
