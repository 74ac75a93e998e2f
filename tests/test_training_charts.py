"""The live training chart's checkpoint mark: a rule and a label at the kept epoch."""

import altair as alt
import pytest

from dnnlab import charts


def validated_run(val_losses: list[float]) -> list[dict]:
    """`curves`-like rows: a training loss that keeps falling, validation losses as given."""
    rows = []
    for epoch, val in enumerate(val_losses, start=1):
        rows.append({"epoch": epoch - 0.5, "metric": "loss", "split": "training", "value": 1.0 / epoch})
        rows.append({"epoch": float(epoch), "metric": "loss", "split": "validation", "value": val})
        rows.append({"epoch": float(epoch), "metric": "accuracy", "split": "validation", "value": 0.9})
    return rows


def marks(spec: dict) -> list[dict]:
    """The rows the kept epoch's rule and label draw (their filter applied to the data)."""
    return [v for v in spec["data"]["values"] if v["split"] == charts.training.BEST]


def test_best_epoch_is_the_lowest_validation_loss():
    losses = [0.9, 0.6, 0.5, 0.55, 0.7]
    assert charts.best_epoch(validated_run(losses)) == losses.index(min(losses)) + 1
    assert charts.best_epoch([r for r in validated_run(losses) if r["split"] == "training"]) is None


@pytest.mark.parametrize("best", [2, 4])
def test_the_kept_epoch_is_marked_on_the_validation_loss_panel(best):
    rows = validated_run([0.9, 0.6, 0.5, 0.55, 0.7])
    loss, accuracy = charts.live_specs(rows, 5, best=best)
    (kept,) = marks(loss)
    val_loss = next(r["value"] for r in rows if r["split"] == "validation" and r["epoch"] == best)
    assert kept["epoch"] == best and kept["value"] == val_loss
    assert kept["label"] == f"kept: epoch {best} (validation loss {val_loss:.3f})"
    kinds = [layer["mark"]["type"] for layer in loss["layer"] if "'best'" in str(layer["transform"])]
    assert kinds == ["rule", "text"]
    rule = next(layer for layer in loss["layer"] if layer["mark"]["type"] == "rule")
    assert rule["encoding"]["y2"] == {"value": loss["height"]}  # the plot's full height
    assert not any(layer["mark"]["type"] == "rule" for layer in accuracy["layer"])
    alt.LayerChart.from_dict(loss)  # raises if the spec breaks the Vega-Lite schema


def test_no_mark_without_a_best_epoch_or_its_validation_point():
    rows = validated_run([0.9, 0.6])
    for best in (None, 3):  # epoch 3 has not been scored yet
        loss, _ = charts.live_specs(rows, 5, best=best)
        assert marks(loss) == []
        assert [layer["mark"]["type"] for layer in loss["layer"]].count("rule") == 0
