"""Train: pick one of the talk's networks (or change it), watch it learn, save it."""

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app_pages import presentation
from app_pages.common import mnist
from dnnlab import architectures, codegen, data, jobs, registry
from dnnlab.train_config import GROUPS, SETTINGS, TrainConfig

LIVE = {jobs.State.WAITING, jobs.State.RUNNING, jobs.State.TESTING}


def key(setting) -> str:
    return f"train_{setting.field}"


def use_preset(name: str) -> None:
    spec = architectures.PRESETS[name].spec
    for s in SETTINGS:
        if s.part == "spec":
            st.session_state[key(s)] = s.to_widget(getattr(spec, s.field))


def widget(s, where) -> None:
    kwargs = {"key": key(s), "help": s.help or None}
    if s.kind == "bool":
        where.toggle(s.label, **kwargs)
    elif s.kind == "choice":
        fmt = {1: "none", 2: "2×2"}.get if s.field == "pool_size" else str
        where.radio(s.label, s.choices, horizontal=True, format_func=fmt, **kwargs)
    elif s.kind == "ints":
        where.text_input(s.label, placeholder="none", **kwargs)
    elif s.kind == "float" and s.high <= 1 and s.field != "learning_rate":
        where.slider(s.label, s.low, s.high, step=s.step, **kwargs)
    else:
        number = int if s.kind == "int" else float
        where.number_input(s.label, number(s.low), number(s.high), step=number(s.step),
                           format=None if s.kind == "int" else "%g", **kwargs)  # fmt: skip


def config_inputs() -> TrainConfig | None:
    """The sidebar form: presets, then every setting; None while a value is invalid."""
    if "train_config" not in st.session_state:  # a new session: start from the URL
        st.session_state.train_config, st.session_state.train_url_messages = TrainConfig.from_query(
            st.query_params.to_dict()
        )
    values = st.session_state.train_config.values()
    for s in SETTINGS:
        st.session_state.setdefault(key(s), s.to_widget(values[s.field]))
    try:
        config = TrainConfig.from_values({s.field: s.from_widget(st.session_state[key(s)]) for s in SETTINGS})
    except (ValueError, TypeError) as e:
        config, error = None, e
    sb = st.sidebar
    sb.subheader("The talk's four networks")
    for col, name in zip(sb.columns(2) * 2, architectures.PRESETS, strict=True):
        current = config is not None and config.preset == name
        col.button(name, key=f"train_preset_{name}", on_click=use_preset, args=(name,),
                   type="primary" if current else "secondary", width="stretch",
                   help=architectures.PRESETS[name].description)  # fmt: skip
    for group in GROUPS:
        box = sb.expander("Regularisation (the talk's extras)") if group == "Regularisation" else sb
        if box is sb:
            sb.subheader(group)
        for s in SETTINGS:
            if s.group == group:
                widget(s, box)
    if config is None:
        sb.error(f"{error}")
        return None
    st.session_state.train_config = config
    query = config.to_query()
    if presentation.KEY in st.query_params:  # the URL also carries presentation mode
        query[presentation.KEY] = st.query_params[presentation.KEY]
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)
    return config


def session_probe():
    """A callable telling whether this browser session is still connected (None in tests)."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)


def start_training(config: TrainConfig, arrays) -> None:
    old = st.session_state.get("train_job")
    if old is not None and old.state in LIVE:
        return  # one job per session
    st.session_state.train_previous = old.result.test_accuracy if old and old.result else None
    st.session_state.pop("train_save_name", None)
    st.session_state.train_job = jobs.start(config, arrays, alive=session_probe())


def stop_training() -> None:
    if job := st.session_state.get("train_job"):
        job.stop()


def live_view(polling: bool) -> None:
    """Status, progress bar and chart; polled every half second while the job is live."""
    job = st.session_state.get("train_job")
    if job is None:
        return
    job.touch()
    latest = job.latest()
    if job.state == jobs.State.WAITING:
        ahead = job.ahead()
        st.info(f"Waiting for the trainer — {ahead} ahead" if ahead else "Starting…", icon="⏳")
    elif latest is None and job.state == jobs.State.RUNNING:
        st.info("Building the model…", icon="🛠️")
    if latest is not None:
        left = jobs.format_seconds(latest.seconds_left) if job.state == jobs.State.RUNNING else "0:00"
        st.progress(
            latest.fraction_done if job.state == jobs.State.RUNNING else 1.0,
            text=f"Epoch {latest.epoch}/{latest.epochs} · step {latest.step:,} · "
            f"{latest.samples_per_second:,.0f} samples/s · {left} left",
        )
    if job.state == jobs.State.TESTING:
        st.caption("Scoring the model on the test set…")
    rows = jobs.curves(job.progress())
    for col, spec in zip(st.columns(2), jobs.chart_specs(job.config.hyper.epochs), strict=True):
        col.vega_lite_chart(rows, spec, width="stretch")  # Altair-built specs, fresh rows
    if polling and job.state not in LIVE:
        st.rerun()  # finished: draw the results once, then stop polling


def results(job, loaded, limit) -> None:
    """Test scores, save, layer summary and code of a finished job."""
    if job.state == jobs.State.FAILED:
        st.error(f"Training failed: {job.error}")
        return
    r = job.result
    if r is None:
        st.info("The job was cancelled before it trained.")
        return
    if job.state == jobs.State.STOPPED:
        st.warning(f"Stopped after {r.epochs_completed} of {r.hyper.epochs} full epochs: save the model so far, or discard it.")  # fmt: skip
    previous = st.session_state.get("train_previous")
    delta = None if previous is None else f"{(r.test_accuracy - previous) * 100:+.1f} points vs previous run"
    c = st.columns(4)
    c[0].metric("Test accuracy", f"{r.test_accuracy:.2%}", delta=delta)
    c[1].metric("Test loss", f"{r.test_loss:.4f}")
    c[2].metric("Training time", f"{r.train_seconds:.1f} s")
    c[3].metric("Parameters", f"{r.model.count_params():,}")

    taken = [m.name for m in registry.list_models()]
    st.session_state.setdefault("train_save_name", jobs.suggest_name(job.config, r.epochs_completed, taken))
    name_col, save_col, discard_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    name = name_col.text_input("Model name", key="train_save_name").strip()
    if save_col.button("Save", key="train_save", type="primary", width="stretch"):
        digest = loaded.digest if limit is None else data.digest(job.data)
        try:
            registry.save(r.model, registry.build_meta(r, data_digest=digest, name=name), name)
            st.session_state.train_saved = (job.id, name)
        except (ValueError, registry.RegistryError) as e:
            st.error(f"Not saved: {e}. The trained model is still here; try another name.")
    if discard_col.button("Discard", key="train_discard", width="stretch"):
        del st.session_state["train_job"]
        st.rerun()
    saved = st.session_state.get("train_saved")
    if saved and saved[0] == job.id:
        st.success(f"Saved as **{saved[1]}**: find it on the Model page.")

    st.subheader("Layers")
    st.dataframe(architectures.summary_rows(r.model), hide_index=True)
    st.subheader("The Keras code")
    filename = f"{name or 'train_mnist'}.py"
    code = codegen.keras_code(r.spec, **r.hyper.to_dict(), filename=filename)
    st.code(code, language="python")
    st.download_button("Download .py", code, file_name=filename, mime="text/x-python", key="train_download")


st.title("Train")
st.caption(
    "Pick one of the talk's networks or change one thing at a time, press **Train** and watch it learn."
)
loaded = mnist()
jobs.warm_up()
try:
    limit = jobs.train_limit()
except ValueError as e:
    st.warning(f"{e}; training on all images.")
    limit = None
if limit is not None:
    st.caption(f"`{jobs.LIMIT_ENV}={limit}`: training and testing on the first {limit:,} images only.")
config = config_inputs()
for message in st.session_state.pop("train_url_messages", []):
    st.warning(message)

job = st.session_state.get("train_job")
busy = job is not None and job.state in LIVE
train_col, stop_col = st.columns(2)
train_col.button("Train", key="train_start", type="primary", disabled=busy or config is None, width="stretch",
                 on_click=start_training, args=(config, jobs.limited(loaded.arrays, limit)))  # fmt: skip
stop_col.button("Stop", key="train_stop", disabled=not busy, width="stretch", on_click=stop_training)

if busy:  # poll while the job is live; a finished job is drawn once, outside any fragment
    st.fragment(run_every=0.5)(live_view)(True)
else:
    live_view(False)
if job is not None and job.state not in LIVE:
    results(job, loaded, limit)
