"""Learning from the room: the split of a real room's drawings, and real Keras
fine-tuning of a shipped network on a room of MNIST test digits written through the
real store, in this process and as a job in the training process."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dnnlab import finetune, jobs, registry, room
from dnnlab.architectures import prepare_inputs
from dnnlab.config import ModelSpec
from dnnlab.worker import Worker
from tests.conftest import wait_watched
from tests.room_support import fill_room, stratified_digits

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path):
    s = room.Store(str(tmp_path / "room.sqlite3"))
    yield s
    s.close()


def drawings_of(store, images, labels) -> list[room.Drawing]:
    return store.drawings(fill_room(store, images, labels))


@pytest.fixture(scope="module")
def cnn():
    model, meta = registry.load("cnn", directory=ROOT / "models")  # the shipped network, read only
    return model, ModelSpec.from_dict(meta["spec"])


@pytest.fixture
def inverted_room(store, mnist):
    """200 drawings the shipped networks have not seen the like of: MNIST's test digits
    black on white, 20 of each digit, sent to a real room."""
    images, labels = stratified_digits(*mnist[1], per_digit=20)
    return drawings_of(store, 255 - images, labels)


# --- the split ----------------------------------------------------------------------


def test_the_split_has_no_overlap_covers_the_room_and_is_stratified(store, mnist):
    images, labels = stratified_digits(*mnist[1], per_digit=7)
    drawings = drawings_of(store, images[:-3], labels[:-3])  # digits 7-9 drawn 6 times, the rest 7
    s = finetune.split(drawings)
    assert set(s.tune).isdisjoint(s.held_out)
    assert sorted(s.tune + s.held_out) == list(range(len(drawings)))
    for digit in range(10):
        drawn = sum(d.intended == digit for d in drawings)
        held = sum(drawings[i].intended == digit for i in s.held_out)
        assert held == round(drawn / 2), digit
    # The arrays are the drawings' own, labelled as their students meant.
    for index, x, y in zip(s.held_out, s.x_held, s.y_held, strict=True):
        assert np.array_equal(x, drawings[index].image28) and y == drawings[index].intended
    for index, x, y in zip(s.tune, s.x_tune, s.y_tune, strict=True):
        assert np.array_equal(x, drawings[index].image28) and y == drawings[index].intended


def test_the_split_is_deterministic_whatever_the_order(store, mnist):
    drawings = drawings_of(store, *stratified_digits(*mnist[1], per_digit=4))
    keys = lambda s, ds: ({ds[i].key for i in s.tune}, {ds[i].key for i in s.held_out})  # noqa: E731
    first = keys(finetune.split(drawings), drawings)
    shuffled = [drawings[i] for i in np.random.default_rng(5).permutation(len(drawings))]
    assert keys(finetune.split(shuffled), shuffled) == first
    assert keys(finetune.split(drawings, seed=1), drawings) != first


def test_a_digit_drawn_once_goes_to_the_fine_tune_part(store, mnist):
    images, labels = stratified_digits(*mnist[1], per_digit=3)
    keep = (labels != 4) | (np.cumsum(labels == 4) == 1)  # one 4, three of every other digit
    drawings = drawings_of(store, images[keep], labels[keep])
    s = finetune.split(drawings)
    assert [drawings[i].intended for i in s.held_out].count(4) == 0
    assert [drawings[i].intended for i in s.tune].count(4) == 1


def test_too_few_drawings_say_how_many_are_needed(store, mnist):
    drawings = drawings_of(store, *stratified_digits(*mnist[1], per_digit=1))
    with pytest.raises(
        finetune.FinetuneError,
        match=f"the room has 10 drawings; fine-tuning needs at least {finetune.MIN_DRAWINGS}",
    ):
        finetune.split(drawings)
    with pytest.raises(finetune.FinetuneError, match="the room has 0 drawings"):
        finetune.split([])


# --- fine-tuning for real -----------------------------------------------------------


def test_fine_tuning_learns_the_rooms_handwriting_and_leaves_the_saved_network_alone(
    cnn, inverted_room, mnist
):
    model, spec = cnn
    s = finetune.split(inverted_room)
    saved_weights = [w.copy() for w in model.get_weights()]
    before = finetune.accuracy(model, spec, s.x_held, s.y_held)
    reads = np.argmax(model(prepare_inputs(spec, s.x_held), training=False), axis=1)
    assert before == np.mean(reads == s.y_held)  # the share of held-out drawings read as meant

    x_test, y_test = mnist[1][0][:2000], mnist[1][1][:2000]
    result = finetune.finetune(
        model, spec, s, (x_test, y_test), finetune.hyper(epochs=10, learning_rate=1e-3)
    )
    after = finetune.accuracy(result.model, spec, s.x_held, s.y_held)
    assert after > before
    assert result.epochs_completed == 10 and result.hyper.learning_rate == 1e-3
    # Its test scores are MNIST's, not the room's.
    assert result.test_accuracy == pytest.approx(
        finetune.accuracy(result.model, spec, x_test, y_test), abs=1e-6
    )
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), saved_weights, strict=True))


def test_the_training_process_fine_tunes_on_the_rooms_drawings(cnn, inverted_room, mnist, monkeypatch):
    """The Train page's path: a job of `dnnlab.jobs`, trained in the training process."""
    model, spec = cnn
    worker = Worker()
    monkeypatch.setattr(jobs, "WORKER", worker)
    s = finetune.split(inverted_room)
    x_test, y_test = mnist[1][0][:2000], mnist[1][1][:2000]
    try:
        job = finetune.start_job(
            model, spec, s, (x_test, y_test), finetune.hyper(epochs=10, learning_rate=1e-3)
        )
        assert wait_watched(job, timeout=900), job.state
    finally:
        worker.close()
    assert job.state == jobs.State.DONE, job.error
    # It trained on the room's fine-tune part, not on MNIST's 60,000 images.
    last = job.progress()[-1]
    assert (last.epoch, last.batches_per_epoch) == (10, math.ceil(len(s.tune) / finetune.BATCH_SIZE))
    assert job.result.test_accuracy == pytest.approx(
        finetune.accuracy(job.result.model, spec, x_test, y_test), abs=1e-6
    )
    assert finetune.accuracy(job.result.model, spec, s.x_held, s.y_held) > finetune.accuracy(
        model, spec, s.x_held, s.y_held
    )


# --- the Train page's "Learn from the room" -------------------------------------------

TRAIN_PAGE = str(ROOT / "app_pages" / "train.py")


@pytest.fixture
def page_room(tmp_path, monkeypatch, models_dir, mnist):
    """The shipped CNN in a private models folder and a room database of this test's own."""
    from tests.conftest import copy_shipped

    copy_shipped(models_dir, ["cnn"])
    url = str(tmp_path / "page-room.sqlite3")
    monkeypatch.setenv("DNNLAB_ROOM_DB", url)
    s = room.Store(url)
    yield s
    s.close()


def _read(elements) -> str:
    """Elements' text as a reader sees it: no bold markers, no backslash escapes."""
    return re.sub(r"\\(.)", r"\1", " ".join(e.value for e in elements).replace("**", ""))


def _percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


def test_the_train_page_fine_tunes_on_a_room_and_saves_the_result(page_room, mnist):
    images, labels = stratified_digits(*mnist[1], per_digit=20)
    code = fill_room(page_room, 255 - images, labels)
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=120).run()
    at.text_input(key="finetune_room").input(code.lower()).run()  # typed as a student would
    assert not at.exception, [e.message for e in at.exception]
    assert f"Room {code}: 100 drawings to fine-tune on, 100 held out" in _read(at.markdown)
    at.number_input(key="finetune_epochs").set_value(10)
    at.select_slider(key="finetune_rate").set_value(1e-3)
    at.button(key="finetune_start").click().run()
    run = at.session_state["finetune"]
    try:
        assert wait_watched(run["job"], 900), run["job"].state
    finally:
        run["job"].stop()
    at.run()
    assert not at.exception, [e.message for e in at.exception]

    model, meta = registry.load("cnn")
    spec = ModelSpec.from_dict(meta["spec"])
    s = finetune.split(page_room.drawings(code))
    before = finetune.accuracy(model, spec, s.x_held, s.y_held)
    after = finetune.accuracy(run["job"].result.model, spec, s.x_held, s.y_held)
    shown = {m.label: m for m in at.metric}
    held = shown["Held-out room drawings, after"]
    assert _percent(held.value) == pytest.approx(after, abs=0.0005)
    assert held.delta == f"{(after - before) * 100:+.1f} points" and after > before
    assert f"{before:.1%} before fine-tuning, on the same 100 drawings" in held.help
    mnist_after = shown["MNIST test set, after"]
    assert _percent(mnist_after.value) == pytest.approx(run["job"].result.test_accuracy, abs=0.0005)

    assert at.text_input(key="finetune_save_name").value == "cnn-room"
    at.button(key="finetune_save").click().run()
    assert "Saved as cnn-room: find it on the Model page" in _read(at.success)
    saved, saved_meta = registry.load("cnn-room")
    assert finetune.accuracy(saved, spec, s.x_held, s.y_held) == after
    assert saved_meta["test_accuracy"] == pytest.approx(run["job"].result.test_accuracy)


def test_the_section_says_when_a_room_cannot_be_used(page_room, mnist):
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=120).run()
    at.text_input(key="finetune_room").input("ZZZZZ").run()
    assert "no open room has the code ZZZZZ: closed, expired or mistyped" in _read(at.warning)
    code = fill_room(page_room, *stratified_digits(*mnist[1], per_digit=1))
    at.text_input(key="finetune_room").input(code).run()
    assert f"Room {code}: the room has 10 drawings; fine-tuning needs at least 20: some" in _read(at.info)
    assert not [b for b in at.button if b.key == "finetune_start"]
