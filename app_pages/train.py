"""Train: pick one of the talk's networks (or change it), watch it learn, save it."""

import uuid

import streamlit as st

from app_pages.common import mnist
from app_pages.presentation import is_presenting
from app_pages.streamlit_private import session_probe
from app_pages.train_finetune import section as learn_from_the_room
from app_pages.train_form import config_inputs
from app_pages.train_results import results
from dnnlab import charts, jobs, limits
from dnnlab.config import TrainConfig
from dnnlab.progress import status_text
from dnnlab.safe_text import escape_markdown

LIVE = {jobs.State.WAITING, jobs.State.RUNNING, jobs.State.TESTING}
EARLIER_RUNS = 5  # this session's finished runs kept to draw behind the live one


def start_training(config: TrainConfig, limit: int | None) -> None:
    old = st.session_state.get("train_job")
    if old is not None and old.state in LIVE:
        return  # one job per session
    if old is not None and old.result is not None:
        label = f"{old.config.preset or 'custom'} · {old.result.test_accuracy:.1%}"
        runs = st.session_state.get("train_runs", [])[1 - EARLIER_RUNS :]
        st.session_state.train_runs = [*runs, (label, charts.curves(old.progress()))]
    st.session_state.train_previous = old.result.test_accuracy if old and old.result else None
    st.session_state.pop("train_save_name", None)
    owner = st.session_state.setdefault("train_owner", uuid.uuid4().hex)
    try:
        st.session_state.train_job = jobs.start(config, limit, alive=session_probe(), owner=owner)
    except jobs.JobRefused as e:
        st.session_state.train_refused = str(e)


def live_view(polling: bool) -> None:
    """Status, progress bar, accuracy now and chart; polled twice a second while live."""
    job = st.session_state.get("train_job")
    if job is None:
        return
    job.touch()
    latest, running = job.latest(), job.state == jobs.State.RUNNING
    if job.state == jobs.State.WAITING:
        ahead = job.ahead()
        st.info(f"Waiting for the trainer — {ahead} ahead" if ahead else "Starting…", icon="⏳")
    elif latest is None and running:
        st.info("Building the model…", icon="🛠️")
    if latest is not None:
        st.progress(latest.fraction_done, text=status_text(latest, running))
        if running:
            st.metric("Training accuracy now", f"{latest.accuracy:.1%}")
    if job.state == jobs.State.TESTING:
        st.caption("Scoring the model on the test set…")
    specs = charts.live_specs(charts.curves(job.progress()), job.config.hyper.epochs,
                              earlier=st.session_state.get("train_runs", ()),
                              validation=job.config.hyper.validation_split > 0)  # fmt: skip
    for col, spec in zip(st.columns(2), specs, strict=True):
        col.vega_lite_chart(charts.for_projector(spec) if is_presenting() else spec, width="stretch")
    if polling and job.state not in LIVE:
        st.rerun()  # finished: draw the results once, then stop polling


st.title("Train")
st.caption(
    "Pick one of the talk's networks or change one thing at a time, press **Train** and watch it learn."
)
loaded = mnist()
jobs.warm_up()
try:
    limit = limits.current().train_limit
except ValueError as e:
    st.warning(f"{escape_markdown(e)}; training on all images.")
    limit = None
if limit is not None:
    st.caption(f"`DNNLAB_TRAIN_LIMIT={limit}`: training and testing on the first {limit:,} images at most.")
config = config_inputs()
for message in [*st.session_state.pop("train_url_messages", []), st.session_state.pop("train_refused", None)]:
    if message:
        st.warning(escape_markdown(message))

job = st.session_state.get("train_job")
busy = job is not None and job.state in LIVE
train_col, stop_col = st.columns(2)
train_col.button("Train", key="train_start", type="primary", disabled=busy or config is None, width="stretch",
                 on_click=start_training, args=(config, limit))  # fmt: skip
stop_col.button(
    "Stop", key="train_stop", disabled=not busy, width="stretch", on_click=job.stop if busy else None
)
if busy:  # poll while the job is live; a finished job is drawn once, outside any fragment
    st.fragment(run_every=0.5)(live_view)(True)
else:
    live_view(False)
if job is not None and not busy:
    results(job, loaded)
learn_from_the_room()
