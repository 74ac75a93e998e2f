"""The Train page's "Learn from the room": fine-tune a saved network on half of a room's
drawings in the training process (the page never waits for it), then compare its
accuracy on the other half before and after, and save it."""

import uuid

import streamlit as st

from app_pages.common import mnist, model_picker, saved_model
from app_pages.room_common import room_store
from app_pages.streamlit_private import session_probe
from app_pages.train_finetune_results import results
from dnnlab import data, finetune, jobs, registry, room
from dnnlab.config import ModelSpec
from dnnlab.safe_text import escape_markdown

LEARNING_RATES = (1e-4, 3e-4, 1e-3)


def _room_drawings() -> tuple[str, list[room.Drawing]] | None:
    """The open room whose code was typed, and its drawings; None (and why) otherwise.
    Typed, not listed: a room's code lets whoever has it clear the room."""
    typed = st.text_input("Room code (on the projector)", max_chars=room.CODE_LENGTH, key="finetune_room")
    if not typed:
        return None
    try:
        code = room.valid_code(typed)
        if room_store().room(code) is None:
            raise room.RoomError(f"no open room has the code {code}: closed, expired or mistyped")
    except room.RoomError as e:
        st.warning(escape_markdown(e))
        return None
    return code, room_store().drawings(code)


def _scored(name: str, room_split: finetune.RoomSplit, room_state: tuple) -> tuple[ModelSpec, float]:
    """The network's spec and held-out accuracy, computed again only when the network
    or the room's drawings change (not on every rerun of the Train page)."""
    key = (name, registry.stamp(name), room_state)
    cached = st.session_state.get("finetune_scored")
    if cached is None or cached[0] != key:
        model, meta = saved_model(name)
        spec = ModelSpec.from_dict(meta["spec"])
        cached = (key, spec, finetune.accuracy(model, spec, room_split.x_held, room_split.y_held))
        st.session_state.finetune_scored = cached
    return cached[1], cached[2]


def _start(name: str, spec: ModelSpec, room_split: finetune.RoomSplit, before: float) -> None:
    model, meta = saved_model(name)
    settings = finetune.hyper(st.session_state.finetune_epochs, st.session_state.finetune_rate)
    owner = st.session_state.setdefault("train_owner", uuid.uuid4().hex)  # the Train page's: one queue cap
    try:
        test = mnist().arrays[1]  # MNIST's test set stays the test: what the room's handwriting cost on it
        job = finetune.start_job(model, spec, room_split, test, settings, owner=owner, alive=session_probe())
    except jobs.JobRefused as e:
        st.session_state.finetune_refused = str(e)
        return
    st.session_state.pop("finetune_save_name", None)
    st.session_state.finetune = {"job": job, "name": name, "split": room_split, "before": before,
                                 "mnist_before": meta.get("test_accuracy"), "spec": spec}  # fmt: skip


def _progress() -> None:
    """The running fine-tune's progress, polled; the results once it has finished."""
    run = st.session_state.finetune
    run["job"].touch()
    if not run["job"].active:
        st.rerun()
    latest = run["job"].latest()
    st.progress(
        latest.fraction_done if latest else 0.0, text=f"Fine-tuning {run['name']}: {run['job'].state}"
    )


def section() -> None:
    st.subheader("Learn from the room")
    st.caption("Fine-tune a saved network on half of a room's drawings; score it on the other half.")
    picked = _room_drawings()
    name = model_picker("finetune_model", "Saved network to fine-tune")
    if picked is None or name is None:
        return
    code, drawings = picked
    try:
        room_split = finetune.split(drawings)
    except finetune.FinetuneError as e:
        st.info(f"Room {code}: {escape_markdown(e)}.")
        return
    spec, before = _scored(name, room_split, (code, drawings[-1].number))
    st.markdown(f"Room {code}: **{len(room_split.tune)}** drawings to fine-tune on, "
                f"**{len(room_split.held_out)}** held out (each digit in both where drawn twice).")  # fmt: skip
    left, right = st.columns(2)
    left.number_input("Epochs", 1, 30, finetune.EPOCHS, key="finetune_epochs")
    right.select_slider("Learning rate", LEARNING_RATES, finetune.LEARNING_RATE, key="finetune_rate")
    run = st.session_state.get("finetune")
    live = run is not None and run["job"].active
    st.button("Fine-tune", key="finetune_start", disabled=live, on_click=_start,
              args=(name, spec, room_split, before))  # fmt: skip
    if (refused := st.session_state.pop("finetune_refused", None)) is not None:
        st.warning(escape_markdown(refused))
    if live:
        st.fragment(run_every=0.5)(_progress)()
    elif run is not None:
        results(run, data.digest(((run["split"].x_tune, run["split"].y_tune), mnist().arrays[1])))
