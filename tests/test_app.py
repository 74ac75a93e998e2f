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
