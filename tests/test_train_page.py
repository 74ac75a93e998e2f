"""The Train page in Streamlit's AppTest: form and URL, training, stop, save."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dnnlab.jobs import State

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "train.py")


@pytest.fixture
def page(models_dir, monkeypatch):
    """A fresh session of the Train page training on 1,000 images, saving to a temp folder."""
    monkeypatch.setenv("DNNLAB_TRAIN_LIMIT", "1000")
    at = AppTest.from_file(PAGE, default_timeout=60)
    yield at
    if "train_job" in at.session_state:  # let no test leave a job training
        at.session_state["train_job"].stop()
        at.session_state["train_job"].wait(30)


def train_and_wait(at: AppTest, timeout: float = 120):
    at.button(key="train_start").click().run()
    assert not at.exception
    job = at.session_state["train_job"]
    assert job.wait(timeout), "training did not finish"
    at.run()  # the page polls; one more run shows the finished job
    assert not at.exception
    return job


def metrics(at: AppTest) -> dict:
    return {m.label: m.value for m in at.metric}


def test_url_fills_the_form_and_the_form_writes_the_url(page):
    page.query_params["preset"] = "cnn"
    page.query_params["epochs"] = "3"
    page.run()
    assert not page.exception
    assert page.text_input(key="train_conv_filters").value == "8, 8"
    assert page.text_input(key="train_dense_units").value == ""
    assert page.number_input(key="train_epochs").value == 3
    assert page.button(key="train_preset_cnn").proto.type == "primary"

    page.number_input(key="train_epochs").set_value(2).run()
    assert dict(page.query_params) == {"preset": "cnn", "epochs": "2"}
    page.button(key="train_preset_mlp-raw").click().run()
    assert page.toggle(key="train_rescale").value is False
    assert page.radio(key="train_activation").value == "linear"
    assert page.text_input(key="train_dense_units").value == "16, 16"
    assert page.number_input(key="train_epochs").value == 2  # presets change the network only
    assert dict(page.query_params) == {"preset": "mlp-raw", "epochs": "2"}


def test_invalid_url_values_fall_back_with_a_message(page):
    page.query_params["epochs"] = "many"
    page.query_params["act"] = "softmax"
    page.run()
    assert not page.exception
    warnings = " ".join(w.value for w in page.warning)
    assert "epochs='many'" in warnings and "act='softmax'" in warnings
    assert page.number_input(key="train_epochs").value == 10
    assert page.radio(key="train_activation").value == "relu"
    assert any("DNNLAB_TRAIN_LIMIT=1000" in c.value for c in page.caption)


def test_an_invalid_layer_list_blocks_training(page):
    page.run()
    page.text_input(key="train_dense_units").input("16, lots").run()
    assert not page.exception
    assert any("dense" in e.value and "16, lots" in e.value for e in page.sidebar.error)
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
    layers = page.dataframe[0].value
    assert list(layers["params"]) == [12560, 272, 170]
    code = page.code[0].value
    assert "layers.Dense(16, activation='relu')" in code and "epochs = 1" in code
    assert page.get("download_button")

    name_box = page.text_input(key="train_save_name")
    assert name_box.value == "mlp-relu-1-epoch"
    page.button(key="train_save").click().run()
    assert any("mlp-relu-1-epoch" in s.value for s in page.success)
    assert sorted(p.name for p in models_dir.iterdir()) == ["mlp-relu-1-epoch.json", "mlp-relu-1-epoch.keras"]

    # A clash or a bad name says so and keeps the trained model.
    page.button(key="train_save").click().run()
    assert any("already exists" in e.value for e in page.error)
    page.text_input(key="train_save_name").input("bad name!").run()
    page.button(key="train_save").click().run()
    assert any("invalid model name" in e.value for e in page.error)
    assert page.session_state["train_job"] is job
    assert len(list(models_dir.iterdir())) == 2


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
        pass
    page.button(key="train_stop").click().run()
    assert job.wait(30)
    assert job.state is State.STOPPED and job.result.epochs_completed < 100
    page.run()
    assert any("Stopped after" in w.value for w in page.warning)
    assert "Test accuracy" in metrics(page)

    page.button(key="train_discard").click().run()
    assert "train_job" not in page.session_state
    assert "Test accuracy" not in metrics(page)
    assert list(models_dir.iterdir()) == []  # nothing half-written

    page.number_input(key="train_epochs").set_value(1).run()
    again = train_and_wait(page)
    assert again is not job and again.state is State.DONE
    assert again.progress()[0].epoch == 1 and len(again.progress()) < len(job.progress())
    assert "Test accuracy" in metrics(page)
