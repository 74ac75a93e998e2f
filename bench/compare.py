"""Timings and findings of the Participants views (dnnlab.compare) on the shipped models.

Prints, per model, the cold cost of its layer RDMs (500 test images) and of its answers
on the 10,000 test images (what the page caches per model), then each view's cost from
those cached inputs (median of 3), and the figures each view shows: the talk networks'
logits RSA and κ, and between-seed vs between-architecture similarity over every seed.

    .venv/bin/python bench/compare.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnnlab import compare, data, errors, registry, rsa  # noqa: E402
from dnnlab.architectures import PRESETS, ModelSpec  # noqa: E402
from dnnlab.staircase import preset_group  # noqa: E402


def timed(function, repeat: int = 3):
    """(result, median seconds) of `repeat` calls."""
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return result, statistics.median(seconds)


def main() -> None:
    _, (x, y) = data.load().arrays
    sample = rsa.rsa_sample(y, per_class=50, seed=0)
    infos = [i for i in registry.list_models() if i.ok and preset_group(i.meta) in PRESETS]
    rdms, correct, groups, is_conv = {}, {}, {}, {}
    print(f"{'model':<22}{'load s':>8}{'RDMs s':>8}{'answers s':>11}")
    for info in infos:
        start = time.perf_counter()
        model, meta = registry.load(info.name)
        loaded = time.perf_counter() - start
        spec = ModelSpec.from_dict(meta["spec"])
        rdms[info.name], rdm_s = timed(
            lambda m=model, s=spec: compare.layer_ranks(compare.layer_rdms(m, s, x[sample])), 1
        )
        report, answer_s = timed(lambda m=model, s=spec: errors.error_report(m, s, x, y), 1)
        correct[info.name] = compare.correct_answers(report.mistakes["index"], report.total)
        groups[info.name], is_conv[info.name] = preset_group(meta), spec.is_conv
        print(f"{info.name:<22}{loaded:>8.2f}{rdm_s:>8.2f}{answer_s:>11.2f}")

    talk = [p for p in PRESETS if p in rdms]
    second, representations_s = timed(lambda: compare.second_order({n: rdms[n] for n in talk}))
    points, map_s = timed(second.map)
    print(
        f"\nRepresentations view ({len(second.labels)} layer RDMs): compare {representations_s:.2f} s, MDS {map_s:.3f} s"
    )

    def behaviour():
        chosen = {n: correct[n] for n in talk}
        return compare.kappa_matrix(chosen), compare.shared_errors(chosen, is_conv)

    (kappa, shared), behaviour_s = timed(behaviour)
    print(f"Behaviour view: {behaviour_s:.3f} s")
    logits = compare.output_rsa_matrix({n: rdms[n][compare.COMMON_STAGE] for n in talk})
    print("\nlogits RSA (Spearman's ρ) of the talk networks:\n" + logits.round(2).to_string())
    print("\nerror consistency (Cohen's κ):\n" + kappa.round(2).to_string())
    print(f"images all four get wrong: {len(shared.everyone)}; only the MLPs: {len(shared.only_mlps)}")

    def seeds():
        matrices = {
            "RSA of the logits": compare.output_rsa_matrix(
                {n: r[compare.COMMON_STAGE] for n, r in rdms.items()}
            ),
            "Cohen's κ": compare.kappa_matrix(correct),
        }
        return {k: compare.pairs(m, groups) for k, m in matrices.items()}

    tables, seeds_s = timed(seeds)
    print(f"\nSeeds view ({len(rdms)} runs): {seeds_s:.2f} s")
    for measure, pairs in tables.items():
        summary = pairs.groupby("kind")["similarity"].agg(["mean", "min", "max", "count"]).round(3)
        print(f"\n{measure}:\n{summary.to_string()}")
        means = compare.group_means(pairs, list(PRESETS)).pivot(
            index="row", columns="column", values="similarity"
        )
        print(means.loc[list(PRESETS), list(PRESETS)].round(3).to_string())


if __name__ == "__main__":
    main()
