"""Time each piece of the Model page for the four shipped presets, once the model is loaded.

Target: every piece within 2 s on a 2-core machine.

    python bench/model_page.py
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnnlab import charts, data, inspection, probes, registry  # noqa: E402
from dnnlab.architectures import PRESETS, ModelSpec  # noqa: E402


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def measure(name, x_test, y_test):
    (model, meta), load_s = timed(lambda: registry.load(name))
    spec = ModelSpec.from_dict(meta["spec"])
    _, table_s = timed(lambda: (charts.layer_table(model, spec), inspection.totals_text(model)))
    _, diagram_s = timed(lambda: charts.diagram_svg(model, spec))
    _, weights_s = timed(lambda: charts.weight_pictures(model))
    probe, probe_s = timed(lambda: probes.Probe(model, spec))
    image, _ = inspection.InputChoice("class", digit=7).resolve(x_test, y_test)
    _, act_first = timed(lambda: charts.activation_pictures(probe.activations(image)))
    _, act_again = timed(lambda: charts.activation_pictures(probe.activations(image)))
    _, tuning_s = timed(lambda: charts.tuning_chart(inspection.tuning_matrices(probe, x_test, y_test)))
    print(
        f"{name:<13} load {load_s:.2f} s | table {table_s * 1e3:.0f} ms, diagram {diagram_s * 1e3:.0f} ms, "
        f"weights {weights_s * 1e3:.0f} ms, probe {probe_s * 1e3:.0f} ms, "
        f"activations {act_first * 1e3:.0f}/{act_again * 1e3:.0f} ms, tuning (10,000 images) {tuning_s:.2f} s"
    )


def main():
    _, (x_test, y_test) = data.load_mnist()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name in PRESETS:
        measure(name, x_test, y_test)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
