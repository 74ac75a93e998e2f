"""The Experiments page under AppTest, over copies of the shipped models."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from dnnlab import registry
from dnnlab.architectures import PRESETS, build_model, preset_spec
from tests.conftest import elements
from tests.support import copy_shipped

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages" / "experiments.py")
SHIPPED = ("mlp-raw", "mlp-rescaled", "mlp-relu", "cnn")


@pytest.fixture
def shipped_copy(models_dir):
    """The four shipped models, copied into the private models folder."""
    return copy_shipped(models_dir, SHIPPED)


def open_section(at: AppTest, section: str | None = None) -> AppTest:
    if section is not None:
        at.session_state["exp_section"] = section
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_every_section_renders_for_the_shipped_models(shipped_copy):
    at = open_section(AppTest.from_file(PAGE, default_timeout=300))

    # The staircase: one chart, one table row per model, in the talk's order.
    assert at.title[0].value == "Experiments"
    assert len(elements(at, "vega_lite_chart")) == 1
    table = at.dataframe[0].value
    assert list(table["name"]) == list(SHIPPED)
    assert table["test_accuracy"].between(0.8, 1.0).all()

    open_section(at, "Learning curves")
    assert at.multiselect(key="exp_curves_runs").value == list(SHIPPED)  # one run per preset
    assert len(elements(at, "vega_lite_chart")) == 2  # loss and accuracy

    open_section(at, "Errors")
    assert at.selectbox(key="exp_model").value == "cnn"
    assert at.metric[0].label == "Test accuracy" and at.metric[0].value.endswith("%")
    assert len(elements(at, "vega_lite_chart")) == 2  # confusion matrix, per digit
    assert "most confident mistakes" in " ".join(m.value for m in at.markdown)
    (gallery,) = elements(at, "image")
    assert len(gallery.proto.imgs) == 24
    assert "→" in gallery.proto.imgs[0].caption

    open_section(at, "Representations")
    assert at.selectbox(key="exp_model").value == "cnn"
    (rsa_chart,) = elements(at, "vega_lite_chart")  # the RSA curves, with the ceiling
    (ceiling,) = {row["ceiling"] for row in chart_data(rsa_chart, layer=2)}
    assert 0 < ceiling < 1  # a perfect category RDM's score on these images, drawn as a line
    rdms = elements(at, "image")
    assert len(rdms) == 8  # pixels, five layers, the logits, and the ideal category RDM
    assert "rsatoolbox" in " ".join(m.value for m in at.markdown)
    assert "saved without training snapshots" in " ".join(i.value for i in at.info)  # how to get them

    open_section(at, "Lesions")
    assert [m.label for m in at.metric] == ["Intact"]
    at.multiselect(key="exp_lesion_cnn_conv2d_units").set_value(list(range(8)))
    open_section(at)
    lesioned = at.metric[1]
    assert lesioned.label == "8 unit(s) of conv2d silenced"
    assert float(lesioned.value.rstrip("%")) < 20  # about chance
    assert lesioned.delta.startswith("-")


def test_model_choice_survives_switching_sections(shipped_copy):
    at = open_section(AppTest.from_file(PAGE, default_timeout=300), "Errors")
    at.selectbox(key="exp_model").set_value("mlp-relu")
    open_section(at)
    assert at.metric[0].value == f"{_accuracy(shipped_copy, 'mlp-relu'):.2%}"
    open_section(at, "Staircase")
    open_section(at, "Lesions")
    assert at.selectbox(key="exp_model").value == "mlp-relu"
    hidden = [layer.name for layer in registry.load("mlp-relu")[0].layers[:2]]
    assert at.selectbox(key="exp_lesion_mlp-relu_layer").options == [f"{n} (16 units)" for n in hidden]
    at.toggle(key="exp_lesion_sweep").set_value(True)
    open_section(at)
    assert "Each unit silenced alone" in " ".join(m.value for m in at.markdown)


def _accuracy(folder: Path, name: str) -> float:
    return json.loads((folder / name / "meta.json").read_text())["test_accuracy"]


def test_broken_models_are_listed_with_their_error(shipped_copy):
    (shipped_copy / "broken").mkdir()
    (shipped_copy / "broken" / "meta.json").write_text("{not json")
    (shipped_copy / "orphan").mkdir()
    orphan = {**json.loads((shipped_copy / "cnn" / "meta.json").read_text()), "name": "orphan"}
    (shipped_copy / "orphan" / "meta.json").write_text(json.dumps(orphan))  # and no weights
    at = open_section(AppTest.from_file(PAGE, default_timeout=300))
    warnings = " ".join(w.value for w in at.warning)
    assert "broken" in warnings and "unreadable metadata" in warnings
    assert "orphan" in warnings and "weights file" in warnings
    table = at.dataframe[0].value
    assert set(table["name"]) == {*SHIPPED, "broken", "orphan"}
    assert len(elements(at, "vega_lite_chart")) == 1


def test_an_empty_models_folder_says_what_to_do(models_dir):
    at = open_section(AppTest.from_file(PAGE, default_timeout=60))
    assert "Train" in at.info[0].value


# --- runs made here, with the metadata a training run records (fast: untrained weights) ----

# Test accuracy of each seed (0, 1, 2) of each talk preset, and of one custom run.
SEEDS = {
    "mlp-raw": (0.881, 0.862, 0.875),
    "mlp-rescaled": (0.931, 0.925, 0.928),
    "mlp-relu": (0.962, 0.958, 0.955),
    "cnn": (0.983, 0.981, 0.979),
}


def save_run(name: str, preset: str | None, accuracy: float, created: str, seed: int = 0) -> None:
    spec = preset_spec(preset or "mlp-relu")
    history = {"loss": [0.9, 0.5, 0.4], "accuracy": [accuracy - 0.1, accuracy - 0.03, accuracy]}
    meta = {
        "preset": preset,
        "spec": spec.to_dict(),
        "hyper": {"epochs": 3, "seed": seed},
        "test_accuracy": accuracy,
        "history": history,
        "created": created,
    }
    registry.save(build_model(spec), meta, name)


@pytest.fixture
def seeded_runs(models_dir):
    """Three seeds of each talk preset, the seed-2 runs the newest, and a custom run."""
    for preset, accuracies in SEEDS.items():
        for seed, accuracy in enumerate(accuracies):
            name = preset if seed == 0 else f"{preset}-seed{seed}"
            save_run(name, preset, accuracy, f"2026-11-0{seed + 1}T10:00:00+00:00", seed)
    save_run("wide", None, 0.95, "2026-11-05T10:00:00+00:00")
    return models_dir


def chart_data(chart, layer: int = 0) -> list[dict]:
    """The rows a chart (or one of its layers) draws, as Streamlit sends them to the browser."""
    spec = json.loads(chart.proto.spec)
    if "layer" in spec:
        spec = spec["layer"][layer]
    name = spec["data"]["name"] if "data" in spec else None
    (dataset,) = [d for d in chart.proto.datasets if not d.has_name or d.name == name]
    return dataframe_util.convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict("records")


def test_staircase_defaults_to_every_run_of_the_talk_presets(seeded_runs):
    at = open_section(AppTest.from_file(PAGE, default_timeout=120))
    talk_runs = [n for n in at.dataframe[0].value["name"] if n != "wide"]
    assert at.multiselect(key="exp_stair_runs").value == talk_runs  # the custom run is left out
    (chart,) = elements(at, "vega_lite_chart")
    steps = chart_data(chart)
    assert [s["step"] for s in steps] == list(PRESETS)
    assert [s["runs"] for s in steps] == [3, 3, 3, 3]
    assert [s["mean"] for s in steps] == pytest.approx([sum(v) / 3 for v in SEEDS.values()])
    assert [(s["low"], s["high"]) for s in steps] == [(min(v), max(v)) for v in SEEDS.values()]

    at.multiselect(key="exp_stair_runs").select("wide")
    open_section(at)
    steps = chart_data(elements(at, "vega_lite_chart")[0])
    assert [s["step"] for s in steps] == [*PRESETS, "wide"]


def test_learning_curves_default_to_the_latest_run_of_each_preset_and_runs_can_be_hidden(seeded_runs):
    at = open_section(AppTest.from_file(PAGE, default_timeout=120), "Learning curves")
    latest = [f"{p}-seed2" for p in PRESETS]
    assert at.multiselect(key="exp_curves_runs").value == latest
    loss, accuracy = elements(at, "vega_lite_chart")
    rows = chart_data(accuracy)
    assert {(r["run"], r["preset"]) for r in rows} == {(f"{p}-seed2", p) for p in PRESETS}
    assert json.loads(accuracy.proto.spec)["encoding"]["color"]["field"] == "preset"

    at.multiselect(key="exp_curves_runs").unselect("mlp-raw-seed2")
    open_section(at)
    rows = chart_data(elements(at, "vega_lite_chart")[1])
    assert {r["run"] for r in rows} == {f"{p}-seed2" for p in list(PRESETS)[1:]}


def test_a_run_is_deleted_only_after_confirming(seeded_runs):
    at = open_section(AppTest.from_file(PAGE, default_timeout=120))
    assert at.selectbox(key="exp_delete_name").options == ["wide"]  # the shipped runs are the lecturer's
    at.selectbox(key="exp_delete_name").set_value("wide")
    open_section(at)
    assert "wide" in {i.name for i in registry.list_models()}  # chosen, not yet deleted
    assert any("will be removed" in w.value for w in at.warning)
    at.button(key="exp_delete_confirm").click()
    open_section(at)
    assert "wide" not in {i.name for i in registry.list_models()}
    assert "wide" not in list(at.dataframe[0].value["name"])
    assert at.selectbox(key="exp_delete_name").value is None
    assert len(registry.list_models()) == 3 * len(PRESETS)  # every seed of the talk's runs kept


def test_presenting_enlarges_the_charts_text(seeded_runs):
    at = AppTest.from_file(PAGE, default_timeout=120)
    sizes = []
    for presenting in (False, True):
        at.session_state["present"] = presenting
        open_section(at, "Staircase")
        config = json.loads(elements(at, "vega_lite_chart")[0].proto.spec).get("config", {})
        sizes.append(config.get("axis", {}).get("labelFontSize"))
    assert sizes[0] is None and sizes[1] >= 18


# --- Participants: models compared like subjects ---------------------------------------------


def layer_rows(chart, layer: int) -> list[dict]:
    """The rows one layer of a layered chart draws, its own data or the chart's shared data."""
    spec = json.loads(chart.proto.spec)
    name = spec["layer"][layer].get("data", spec.get("data", {})).get("name")
    (dataset,) = [d for d in chart.proto.datasets if not d.has_name or d.name == name]
    return dataframe_util.convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict("records")


def matrix_cells(chart) -> dict[tuple[str, str], float]:
    """A heat map's drawn cells: (row, column) → value."""
    return {(r["row"], r["column"]): r["similarity"] for r in layer_rows(chart, 0)}


def test_participants_compare_the_four_talk_networks_layer_by_layer_and_by_their_errors(shipped_copy):
    at = open_section(AppTest.from_file(PAGE, default_timeout=300), "Participants")
    assert at.multiselect(key="exp_participants").value == list(SHIPPED)
    assert at.radio(key="exp_compare_view").value == "Representations"
    matrix, mds = elements(at, "vega_lite_chart")
    stages = {name: rsa_stages(shipped_copy, name) for name in SHIPPED}
    labels = [f"{m} · {s}" for m in SHIPPED for s in stages[m]]
    cells = matrix_cells(matrix)
    assert set(cells) == {(a, b) for a in labels for b in labels}  # every layer against every layer
    assert all(cells[(a, a)] == pytest.approx(1.0) for a in labels)
    assert cells[("cnn · logits", "mlp-relu · logits")] == pytest.approx(
        cells[("mlp-relu · logits", "cnn · logits")]
    )
    points = layer_rows(mds, 1)
    assert [f"{p['model']} · {p['stage']}" for p in points] == labels

    at.radio(key="exp_compare_view").set_value("Behaviour")
    open_section(at)
    (kappa,) = elements(at, "vega_lite_chart")
    cells = matrix_cells(kappa)
    assert set(cells) == {(a, b) for a in SHIPPED for b in SHIPPED if a != b}  # no diagonal
    assert all(-1 <= v <= 1 for v in cells.values())
    text = " ".join(m.value for m in at.markdown)
    assert "Every chosen model gets these wrong" in text and "Only the MLPs get these wrong" in text
    galleries = elements(at, "image")
    counts = [re.search(r"wrong[^(]*\(([\d,]+)\)", m.value) for m in at.markdown]
    shown = [int(c.group(1).replace(",", "")) for c in counts if c]
    assert len(shown) == 2
    assert [len(g.proto.imgs) for g in galleries] == [min(n, 24) for n in shown if n]

    at.multiselect(key="exp_participants").set_value(["cnn"])
    open_section(at)
    assert "two or more" in at.info[0].value


def rsa_stages(folder: Path, name: str) -> list[str]:
    from dnnlab import rsa

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DNNLAB_MODELS", str(folder))
        return rsa.stages(registry.load(name)[0])[1:]


def test_seeds_set_the_ceiling_for_telling_networks_apart(seeded_runs):
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["exp_compare_view"] = "Seeds as a noise ceiling"
    open_section(at, "Participants")
    rsa_metric, kappa_metric = at.metric
    assert "RSA" in rsa_metric.label and "κ" in kappa_metric.label
    assert rsa_metric.value.endswith("between seeds") and rsa_metric.delta.endswith("between architectures")
    charts_drawn = elements(at, "vega_lite_chart")
    assert len(charts_drawn) == 4  # per measure: every pair, and the preset × preset means
    pairs = layer_rows(charts_drawn[0], 1)
    assert len(pairs) == 12 * 11 // 2  # three seeds of four presets; the custom run left out
    kinds = [p["kind"] for p in pairs]
    assert kinds.count("between seeds") == 4 * 3
    between_seeds = [p["similarity"] for p in pairs if p["kind"] == "between seeds"]
    assert rsa_metric.value == f"{sum(between_seeds) / len(between_seeds):.2f} between seeds"
    means = matrix_cells(charts_drawn[1])
    assert set(means) == {(a, b) for a in PRESETS for b in PRESETS}


def test_representations_forming_during_training_move_with_the_slider(models_dir, small_mnist):
    from dnnlab.training import train

    result = train(preset_spec("mlp-relu"), small_mnist, epochs=2, snapshots=True)
    registry.save(
        result.model,
        registry.build_meta(result, data_digest="test", name="forming"),
        "forming",
        snapshots=result.snapshots,
    )
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["exp_model"] = "forming"
    open_section(at, "Representations")
    slider = at.select_slider(key="exp_forming_forming")
    assert slider.value == len(result.snapshots) - 1  # the trained network first

    def embedding():
        (chart,) = [c for c in elements(at, "vega_lite_chart") if "PC 1" in c.proto.spec]
        return chart_data(chart)

    layers = list(result.snapshots.layers)

    def shown_rdms():  # after the RSA section's (pixels, the same layers, the ideal RDM)
        images = elements(at, "image")
        assert len(images) == 2 * len(layers) + 2
        return [(i.proto.imgs[0].caption, i.proto.imgs[0].url) for i in images[-len(layers) :]]

    trained = embedding()
    assert sorted({row["digit"] for row in trained}) == list(range(10)) and len(trained) == 100
    trained_rdms = shown_rdms()
    assert [caption for caption, _ in trained_rdms] == layers
    slider.set_value(0)
    open_section(at)
    untrained = embedding()
    assert [(r["x"], r["y"]) for r in untrained] != [(r["x"], r["y"]) for r in trained]
    assert [url for _, url in shown_rdms()] != [url for _, url in trained_rdms]  # other pictures
    text = " ".join(m.value for m in at.markdown)
    assert "epoch 0.00 · step 0" in text and "between-digit over within-digit" in text
