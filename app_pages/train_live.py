"""The Train page's run: start a job, then its status, progress and live curves."""

import uuid

import streamlit as st

from app_pages.presentation import is_presenting
from app_pages.streamlit_private import session_probe
from dnnlab import charts, jobs
from dnnlab.config import TrainConfig
from dnnlab.progress import status_text

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


def kept_epoch(job, rows: list[dict]) -> int | None:
    """The epoch `keep_best` keeps: the lowest validation loss so far, the result's once done."""
    if job.result is not None:
        return job.result.best_epoch
    return charts.best_epoch(rows) if job.config.keeps_best else None


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
    rows = charts.curves(job.progress())
    specs = charts.live_specs(rows, job.config.hyper.epochs, earlier=st.session_state.get("train_runs", ()),
                              validation=job.config.hyper.validation_split > 0, best=kept_epoch(job, rows))  # fmt: skip
    for col, spec in zip(st.columns(2), specs, strict=True):
        col.vega_lite_chart(charts.for_projector(spec) if is_presenting() else spec, width="stretch")
    if polling and job.state not in LIVE:
        st.rerun()  # finished: draw the results once, then stop polling
