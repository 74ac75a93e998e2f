"""The Draw page in real headless Chromium: digits drawn with the mouse on the real canvas."""

import pytest
from playwright.sync_api import expect

from tests.browser.drawing import choose_model, clear, draw, open_draw_page, prediction, read_drawn
from tests.support import digit_paths

pytestmark = pytest.mark.browser


def test_a_vertical_line_is_a_one_and_an_ellipse_a_zero(app_page, app_server):
    open_draw_page(app_page, app_server)
    expect(app_page.get_by_test_id("stMetric")).to_have_count(0)  # blank canvas: a hint, no prediction
    assert read_drawn(app_page, digit_paths(1)) == "1"
    expect(app_page.get_by_role("img", name="the 28×28 image the network receives")).to_be_visible()
    assert read_drawn(app_page, digit_paths(0)) == "0"


def test_clear_empties_the_canvas_and_removes_the_prediction(app_page, app_server):
    open_draw_page(app_page, app_server)
    draw(app_page, digit_paths(7))
    expect(prediction(app_page)).to_have_text("7")
    clear(app_page)


@pytest.mark.parametrize("model", ["cnn", "mlp-relu"])
def test_the_ten_digits_drawn_with_the_mouse(app_page, app_server, model):
    open_draw_page(app_page, app_server)
    choose_model(app_page, model)
    read = [read_drawn(app_page, digit_paths(d)) for d in range(10)]
    right = [d for d in range(10) if read[d] == str(d)]
    assert len(right) >= 9, f"{model} read {read} for 0-9"


def test_an_unreadable_upload_gets_an_error_and_drawing_still_works(app_page, app_server, tmp_path):
    open_draw_page(app_page, app_server)
    app_page.get_by_role("tab", name="Upload an image").click()
    bad = tmp_path / "digit.png"
    bad.write_bytes(b"this is not a PNG at all")
    app_page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(bad))
    error = app_page.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("digit.png")
    expect(error).to_contain_text("Cannot read this file")
    app_page.get_by_role("tab", name="Draw").click()
    assert read_drawn(app_page, digit_paths(1)) == "1"
