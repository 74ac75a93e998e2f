"""What a hostile input costs the server: time to refuse it, and peak memory.

    python bench/hostile.py

Each image case runs in a fresh process, so its peak resident memory (ru_maxrss) is its
own; the metadata cases time `registry.list_models` over a folder of hostile entries.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IMAGE_CASE = """
import io, resource, sys, time
from PIL import Image
from dnnlab import images
kind, side = sys.argv[1], int(sys.argv[2])
buffer = io.BytesIO()
Image.new("1" if kind != "photo" else "L", (side, side), 0).save(buffer, format="PNG")
data = buffer.getvalue()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    (images.read_canvas_png if kind == "canvas" else images.read_image)(data)
    outcome = "read"
except images.ImageError as e:
    outcome = "refused: " + str(e)[:70]
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(data), seconds, (after - before) / 1024, outcome)
"""


def image_cases() -> None:
    print("image                         bytes      time    peak +MB  outcome")
    for kind, side in [
        ("canvas", 280),
        ("canvas", 13000),
        ("upload", 9000),
        ("photo", 4000),
        ("upload", 20000),
    ]:
        out = subprocess.run(
            [sys.executable, "-c", IMAGE_CASE, kind, str(side)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split(maxsplit=3)
        size, seconds, peak, outcome = int(out[0]), float(out[1]), float(out[2]), out[3].strip()
        label = f"{kind} {side}×{side}"
        print(f"{label:28s} {size / 1e6:6.2f} MB {seconds * 1000:7.1f} ms {peak:8.0f}  {outcome}")


def metadata_cases() -> None:
    from dnnlab import registry

    good = {"name": "x", "spec": {"dense_units": [16, 16]}, "weights_sha256": "0" * 64}
    hostile = {
        "deep nesting (256 KB)": "[" * 131_000 + "]" * 131_000,
        "20,000-deep object": '{"a":' * 20_000 + "1" + "}" * 20_000,
        "Infinity": json.dumps(good).replace("}", ', "test_loss": Infinity}', 1),
        "wrong types": json.dumps({**good, "test_accuracy": "98%"}),
        "10 MB file": " " * 10_000_000,
    }
    print("\nmetadata                      parse time  outcome")
    for label, text in hostile.items():
        data = text.encode()[: registry.MAX_META_BYTES + 1]  # what the bounded read hands on
        times = []
        for _ in range(5):
            started = time.perf_counter()
            try:
                registry.parse_meta_bytes(data)
                outcome = "accepted"
            except registry.MetaError as e:
                outcome = str(e)[:60]
            times.append(time.perf_counter() - started)
        print(f"{label:28s} {statistics.median(times) * 1000:8.2f} ms  {outcome}")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in range(200):
            entry = folder / f"hostile-{n}"
            entry.mkdir()
            (entry / "meta.json").write_text(list(hostile.values())[n % 4])
            (entry / "model.keras").write_bytes(b"PK\x03\x04 not a zip")
        started = time.perf_counter()
        infos = registry.list_models(folder)
        seconds = time.perf_counter() - started
        print(
            f"\nlist_models over 200 hostile entries: {seconds * 1000:.0f} ms, {sum(not i.ok for i in infos)} broken"
        )


if __name__ == "__main__":
    image_cases()
    metadata_cases()
