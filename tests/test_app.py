"""The app shell: navigation and presentation mode (AppTest)."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def _app():
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def _presentation_toggle(at):
    return next(t for t in at.sidebar.toggle if t.label == "Presentation mode")


def test_app_starts_on_the_train_page():
    at = _app().run()
    assert not at.exception
    assert _presentation_toggle(at).value is False


def test_present_query_parameter_switches_presentation_mode_on_and_off():
    at = _app()
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert _presentation_toggle(at).value is True
    assert any("stMetricValue" in (h.proto.body or "") for h in at.get("html"))
    _presentation_toggle(at).set_value(False).run()
    assert "present" not in at.query_params
    assert not any("stMetricValue" in (h.proto.body or "") for h in at.get("html"))


def test_train_page_keeps_presentation_mode_in_the_url():
    at = _app()
    at.query_params.update({"present": "1", "preset": "cnn", "epochs": "3"})
    at.run()
    assert not at.exception
    assert at.query_params["present"] == ["1"] or at.query_params["present"] == "1"
    assert _presentation_toggle(at).value is True


def test_streamlit_no_longer_resets_keras_after_each_run_but_others_still_can():
    import keras
    from streamlit.runtime.scriptrunner import script_runner

    _app().run()  # app.py installs the guard
    keras.backend.get_uid("dnnlab_probe")
    script_runner._clean_problem_modules()  # what Streamlit calls after every run
    assert keras.backend.get_uid("dnnlab_probe") == 2  # Keras's state was kept
    keras.backend.clear_session()  # anyone else's call still clears it
    assert keras.backend.get_uid("dnnlab_probe") == 1


def test_no_full_garbage_collection_after_each_run():
    # ~0.3 s holding the GIL after every stroke of every user (see the config's comment).
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def test_presentation_mode_puts_itself_back_into_the_url_after_a_page_change():
    at = _app()
    at.query_params["present"] = "1"
    at.run()
    at.query_params.clear()  # what Streamlit does on every page change
    at.run()
    assert not at.exception
    assert _presentation_toggle(at).value is True
    assert at.query_params["present"] in ("1", ["1"])  # so a reload keeps it


def test_start_here_sets_the_train_form_to_a_step_of_the_talk():
    at = _app().run()
    at.button(key="start_cnn").click().run()
    assert not at.exception
    highlighted = [b.label for b in at.sidebar.button if b.proto.type == "primary"]
    assert highlighted == ["cnn"]
    assert at.query_params["preset"] in ("cnn", ["cnn"])
