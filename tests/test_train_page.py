"""The Train page in Streamlit's AppTest: form and URL, training, stop, save."""

import re
from pathlib import Path

import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from dnnlab import registry
from dnnlab.config import BY_FIELD
from dnnlab.jobs import State
from tests.conftest import wait_watched

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "train.py")


@pytest.fixture
def page(models_dir, monkeypatch):
    """A fresh session of the Train page training on 1,000 images, saving to a temp folder."""
    monkeypatch.setenv("DNNLAB_TRAIN_LIMIT", "1000")
    monkeypatch.setenv("DNNLAB_STOP_GRACE_SECONDS", "300")  # a loaded machine may take long to stop
    at = AppTest.from_file(PAGE, default_timeout=60)
    yield at
    if "train_job" in at.session_state:  # let no test leave a job training
        at.session_state["train_job"].stop()
        at.session_state["train_job"].wait(30)


def train_and_wait(at: AppTest, timeout: float = 120):
    at.button(key="train_start").click().run()
    assert not at.exception
    job = at.session_state["train_job"]
    assert wait_watched(job, timeout), "training did not finish"
    at.run()  # the page polls; one more run shows the finished job
    assert not at.exception
    return job


def metrics(at: AppTest) -> dict:
    return {m.label: m.value for m in at.metric}


def field(at: AppTest, name: str):
    """The sidebar widget of a config field, found by the label the table gives it."""
    setting = BY_FIELD[name]
    (widget,) = [w for w in getattr(at.sidebar, setting.widget) if w.label == setting.label]
    return widget


def as_read(elements) -> str:
    """The text of markdown elements as a reader sees it (escaped punctuation unescaped)."""
    return " ".join(re.sub(r"\\(.)", r"\1", e.value) for e in elements)


def test_url_fills_the_form_and_the_form_writes_the_url(page):
    page.query_params["preset"] = "cnn"
    page.query_params["epochs"] = "3"
    page.run()
    assert not page.exception
    assert field(page, "conv_filters").value == "8, 8"
    assert field(page, "dense_units").value == ""
    assert field(page, "epochs").value == 3
    assert page.button(key="train_preset_cnn").proto.type == "primary"

    field(page, "epochs").set_value(2).run()
    assert dict(page.query_params) == {"preset": "cnn", "epochs": "2"}
    page.button(key="train_preset_mlp-raw").click().run()
    assert field(page, "rescale").value is False
    assert field(page, "activation").value == "linear"
    assert field(page, "dense_units").value == "16, 16"
    assert field(page, "epochs").value == 2  # presets change the network only
    assert dict(page.query_params) == {"preset": "mlp-raw", "epochs": "2"}


def test_a_preset_changes_the_network_and_every_widget_shows_the_config(page):
    page.query_params["batch"] = "64"
    page.run()
    page.button(key="train_preset_cnn").click().run()
    assert not page.exception
    assert field(page, "conv_filters").value == "8, 8" and field(page, "activation").value == "linear"
    assert field(page, "batch_size").value == 64 and field(page, "learning_rate").value == 0.001
    assert field(page, "pool_size").value == 2 and field(page, "train_images").value == 60_000
    field(page, "batch_size").set_value(32).run()
    assert dict(page.query_params) == {"preset": "cnn"}


def test_presentation_mode_in_the_url_warns_nothing(page):
    page.query_params["present"] = "1"
    page.query_params["preset"] = "mlp-raw"
    page.run()
    assert not page.exception and not page.warning
    assert dict(page.query_params) == {"present": "1", "preset": "mlp-raw"}


def test_the_training_set_size_is_in_the_url_and_reaches_training(page, monkeypatch):
    monkeypatch.setenv("DNNLAB_TRAIN_LIMIT", "2000")  # the lecturer's cap, above the form's 1k
    page.query_params.update({"preset": "mlp-relu", "epochs": "1", "images": "1000"})
    page.run()
    assert field(page, "train_images").value == 1000
    job = train_and_wait(page)
    assert job.state is State.DONE and job.result.hyper.train_images == 1000
    assert job.progress()[-1].batches_per_epoch == 32  # ⌈1,000 / 32⌉, not ⌈2,000 / 32⌉
    assert "x_train, y_train = x_train[:1000], y_train[:1000]" in page.code[1].value


def test_earlier_runs_of_the_session_are_drawn_behind_the_live_one(page):
    page.query_params.update({"preset": "mlp-raw", "epochs": "1"})
    page.run()
    first = train_and_wait(page)
    train_and_wait(page)
    for chart in page.get("vega_lite_chart"):  # loss and accuracy
        rows = convert_arrow_bytes_to_pandas_df(chart.proto.data.data)
        assert set(rows["run"].dropna()) == {f"mlp-raw · {first.result.test_accuracy:.1%}"}
        assert rows["run"].isna().any()  # and the live run itself


def test_invalid_url_values_fall_back_with_a_message(page):
    page.query_params["epochs"] = "many"
    page.query_params["act"] = "softmax"
    page.run()
    assert not page.exception
    warnings = as_read(page.warning)
    assert "epochs='many'" in warnings and "act='softmax'" in warnings
    assert field(page, "epochs").value == 10
    assert field(page, "activation").value == "relu"
    assert any("DNNLAB_TRAIN_LIMIT=1000" in c.value for c in page.caption)


def test_an_invalid_layer_list_blocks_training(page):
    page.run()
    field(page, "dense_units").input("16, lots").run()
    assert not page.exception
    assert "dense" in as_read(page.sidebar.error) and "16, lots" in as_read(page.sidebar.error)
    assert page.button(key="train_start").disabled


def test_train_shows_scores_code_and_saves(page, models_dir):
    page.query_params["preset"] = "mlp-relu"
    page.query_params["epochs"] = "1"
    page.run()
    job = train_and_wait(page)
    assert job.state is State.DONE
    shown = metrics(page)
    assert shown["Test accuracy"].endswith("%")
    assert float(shown["Test accuracy"].rstrip("%")) / 100 == pytest.approx(
        job.result.test_accuracy, abs=1e-4
    )
    assert "Test loss" in shown and "Training time" in shown
    assert len(page.get("vega_lite_chart")) == 2
    summary, code = (c.value for c in page.code)
    assert re.findall(r"\((?:Input|Dense)\w*\)\s*│[^│]*│\s*([\d,]+)", summary) == [
        "0",
        "12,560",
        "272",
        "170",
    ]
    assert "layers.Dense(16, activation='relu')" in code and "epochs = 1" in code
    assert page.get("download_button")

    name_box = page.text_input(key="train_save_name")
    assert name_box.value == "mlp-relu-1-epoch"
    page.button(key="train_save").click().run()
    assert "mlp-relu-1-epoch" in as_read(page.success)
    assert [m.name for m in registry.list_models()] == ["mlp-relu-1-epoch"]

    # A clash or a bad name says so and keeps the trained model.
    page.button(key="train_save").click().run()
    assert "already exists" in as_read(page.error)
    page.text_input(key="train_save_name").input("bad name!").run()
    page.button(key="train_save").click().run()
    assert "invalid model name" in as_read(page.error)
    assert page.session_state["train_job"] is job
    assert [m.name for m in registry.list_models()] == ["mlp-relu-1-epoch"]


def test_stop_then_discard_and_train_again(page, models_dir):
    page.query_params["preset"] = "mlp-relu"
    page.query_params["epochs"] = "100"
    page.run()
    page.button(key="train_start").click().run()
    job = page.session_state["train_job"]
    assert job.state in (State.WAITING, State.RUNNING)
    assert not page.button(key="train_stop").disabled
    assert page.button(key="train_start").disabled  # one job at a time per session
    while job.latest() is None and not job.wait(0.05):
        job.touch()  # as the page's polls do: an unwatched job is cancelled as abandoned
    page.button(key="train_stop").click().run()
    assert job.wait(30)
    assert job.state is State.STOPPED and job.result.epochs_completed < 100
    page.run()
    assert "Stopped after" in as_read(page.warning)
    (bar,) = page.get("progress")  # where it stopped, not a full bar with "0:00 left"
    assert bar.proto.value < 100 and "left" not in bar.proto.text
    assert "Test accuracy" in metrics(page)

    page.button(key="train_discard").click().run()
    assert "train_job" not in page.session_state
    assert "Test accuracy" not in metrics(page)
    assert registry.list_models() == []  # nothing half-written

    field(page, "epochs").set_value(1).run()
    again = train_and_wait(page)
    assert again is not job and again.state is State.DONE
    # The new run has the form's 1 epoch, not the stopped run's 100 (however far that one got).
    assert {p.epochs for p in again.progress()} == {1} and job.progress()[0].epochs == 100
    assert "Test accuracy" in metrics(page)


def test_skip_connections_toggle_reaches_the_network_and_its_code(page):
    page.query_params.update({"preset": "mlp-relu", "epochs": "1"})
    page.run()
    field(page, "skip").set_value(True).run()
    assert page.query_params["skip"] == ["1"] or page.query_params["skip"] == "1"
    job = train_and_wait(page)
    assert job.state is State.DONE and job.result.spec.skip
    summary, code = (c.value for c in page.code)
    assert summary.count("(Add)") == 1  # round the second dense layer (16 → 16: identity)
    assert "x = layers.Add()([shortcut, x])" in code and "model = keras.Model(inputs, outputs)" in code


def test_the_overfitting_scenario_sets_the_form_and_its_cure_adds_dropout_and_the_checkpoint(page):
    from dnnlab.config import CURE, OVERFIT

    page.run()
    page.button(key="train_scenario_overfit").click().run()
    assert not page.exception
    shown = {
        name: field(page, name).value
        for name in ("dense_units", "train_images", "validation_split", "epochs")
    }
    assert shown == {"dense_units": "256, 256", "train_images": 1000, "validation_split": 0.2, "epochs": 30}
    assert page.session_state["train_config"] == OVERFIT
    assert page.sidebar.toggle(key="train_keep_best_" + str(page.session_state["train_form"])).value is False
    page.button(key="train_scenario_cure").click().run()
    assert field(page, "dropout").value == 0.5
    assert page.sidebar.toggle(key="train_keep_best_" + str(page.session_state["train_form"])).value is True
    assert page.session_state["train_config"] == CURE and CURE.keeps_best


def test_the_kept_epoch_is_marked_and_a_saved_model_trains_on(page, models_dir):
    page.query_params.update({"preset": "mlp-relu", "epochs": "4", "val": "0.2", "dense": "256,256"})
    page.run()
    version = str(page.session_state["train_form"])
    page.sidebar.toggle(key="train_keep_best_" + version).set_value(True).run()
    job = train_and_wait(page)
    best = job.result.best_epoch
    assert best == int(min(range(4), key=lambda i: job.result.history["val_loss"][i])) + 1
    assert f"Kept epoch {best} of 4" in as_read(page.info)
    loss_chart = page.get("vega_lite_chart")[0]
    rows = convert_arrow_bytes_to_pandas_df(loss_chart.proto.data.data)
    kept = rows[rows["split"] == "best"]
    assert list(kept["epoch"]) == [best]
    assert kept["value"].iloc[0] == pytest.approx(job.result.history["val_loss"][best - 1])

    page.button(key="train_save").click().run()
    name = page.text_input(key="train_save_name").value
    page.run()  # the form above the results lists the models saved in the run before
    resume = page.sidebar.selectbox(key="train_resume_" + version)
    assert resume.options == ["no: start afresh", name]  # only the same network is offered
    resume.set_value(name).run()
    second = train_and_wait(page)
    assert second.config.resume_from == name and second.state is State.DONE
    assert f"Trained on from the saved model **{name}**" in as_read(page.caption)
    # It starts where the saved one stopped: on the same images its first epoch is far
    # better than the first run's first epoch from random weights.
    assert second.result.history["accuracy"][0] > job.result.history["accuracy"][0]
