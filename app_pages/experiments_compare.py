"""The Experiments page's Participants tab: networks compared like subjects (`dnnlab.compare`).

Each model's layer RDMs and right/wrong answers are cached per model file (name, stamp),
so choosing other models only recomputes the comparisons, which are cheap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_pages import common, experiments_seeds
from app_pages import experiments_sections as view
from dnnlab import charts, compare, registry, rsa
from dnnlab.architectures import ModelSpec

VIEWS = ["Representations", "Behaviour", "Seeds as a noise ceiling"]
GALLERY_SIZE = 24
MAX_PARTICIPANTS = 6  # 6 models × up to 8 stages: a 48×48 matrix is the most one can read


@st.cache_data(max_entries=48, show_spinner="Computing each layer's RDM…")
def layer_ranks(name: str, stamp: int) -> dict[str, np.ndarray]:
    """Each layer's RDM over the Representations tab's images, as the ranks Spearman's ρ compares."""
    model, meta = common.load_model(name, stamp)
    _, (x, y) = common.mnist().arrays
    sample = rsa.rsa_sample(y, per_class=50, seed=0)
    return compare.layer_ranks(compare.layer_rdms(model, ModelSpec.from_dict(meta["spec"]), x[sample]))


def answers(errors, names: list[str]) -> dict[str, np.ndarray]:
    """Each model's right/wrong on every test image, from the Errors tab's cached reports."""
    reports = {n: errors(n, registry.stamp(n)) for n in names}
    return {n: compare.correct_answers(r.mistakes["index"], r.total) for n, r in reports.items()}


def participants(runs: pd.DataFrame) -> list[str]:
    """The models to compare: the four talk networks by default (the run named after each
    preset, else its newest run), any saved model selectable."""
    usable = list(runs.loc[runs["error"].isna(), "name"])
    named = [p for p in charts.TALK_PRESETS if p in usable]
    default = named or view.latest_per_preset(runs)
    return view.chosen_runs("Participants", usable, default, "exp_participants", MAX_PARTICIPANTS)


def representations(names: list[str]) -> None:
    second = compare.second_order({n: layer_ranks(n, registry.stamp(n)) for n in names})
    order = [f"{m} · {s}" for m, s in second.labels]
    st.markdown(
        "**Every layer of every model against every other**: each layer's RDM over the same "
        "500 test images (50 per digit), compared by Spearman's ρ (rsatoolbox). Bright: the two "
        "layers order the image pairs alike."
    )
    view.place(st, charts.similarity_matrix_chart(second.frame(), order, "Spearman's ρ"))
    st.markdown(
        "**A map of models and layers** (classical MDS of 1 − ρ): close points hold similar "
        "representations; each model's line runs from its first layer to its output."
    )
    view.place(st, charts.mds_chart(second.map()))


def behaviour(names: list[str], errors, specs: dict[str, ModelSpec], test_images) -> None:
    correct = answers(errors, names)
    kappa = compare.kappa_matrix(correct)
    frame = kappa.stack(future_stack=True).rename_axis(["row", "column"]).rename("similarity").reset_index()
    st.markdown(
        "**Error consistency** (Cohen's κ, as in human-vs-model psychophysics): do two models get "
        "the *same* test images wrong, beyond what their accuracies predict? 0: no more than "
        "chance, 1: exactly the same errors."
    )
    view.place(st, charts.similarity_matrix_chart(frame, names, "Cohen's κ", domain=(-0.2, 1)))
    shared = compare.shared_errors(correct, {n: specs[n].is_conv for n in names})
    gallery(f"Every chosen model gets these wrong ({len(shared.everyone):,})", shared.everyone, test_images)
    if any(s.is_conv for s in specs.values()) and not all(s.is_conv for s in specs.values()):
        gallery(
            f"Only the MLPs get these wrong, every CNN right ({len(shared.only_mlps):,})",
            shared.only_mlps,
            test_images,
        )


def gallery(title: str, indices: np.ndarray, test_images) -> None:
    st.markdown(f"**{title}**")
    if not len(indices):
        st.caption("None.")
        return
    shown = indices[:GALLERY_SIZE]
    st.image([test_images[i] for i in shown], caption=[f"#{i}" for i in shown], width=56)


def show(runs: pd.DataFrame, errors, test_images) -> None:
    """The tab: which models, then one of the three comparisons."""
    view.remembered("exp_compare_view")
    shown = view.remember(
        "exp_compare_view", st.radio("Compare", VIEWS, horizontal=True, key="exp_compare_view")
    )
    if shown == VIEWS[2]:
        experiments_seeds.seeds(
            runs,
            lambda n: layer_ranks(n, registry.stamp(n))[compare.COMMON_STAGE],
            lambda names: answers(errors, names),
        )
        return
    names = participants(runs)
    if len(names) < 2:
        st.info("Choose two or more models to compare.")
        return
    if shown == VIEWS[0]:
        representations(names)
    else:
        specs = {n: ModelSpec.from_dict(registry.read_meta(n)["spec"]) for n in names}
        behaviour(names, errors, specs, test_images)
