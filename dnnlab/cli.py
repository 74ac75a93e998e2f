"""`python -m dnnlab ...`: the same core as the app, from a terminal.

Every subcommand takes `--json` for machine-readable output. Wrong arguments and bad
files get a one-line message and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from dnnlab import architectures, import_tensorflow_quietly
from dnnlab.architectures import PRESETS

EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False, default=str))


def _percent(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}%"


# --- subcommands -------------------------------------------------------------


def cmd_data(args) -> int:
    from dnnlab import data

    loaded = data.load()
    (xtr, _), (xte, _) = loaded.arrays
    info = {
        "source": loaded.source,
        "train": len(xtr),
        "test": len(xte),
        "digest": loaded.digest,
        "cache": str(data.cache_path()),
    }
    if args.json:
        _print_json(info)
    else:
        print(f"MNIST ready from {loaded.source}: {len(xtr):,} training and {len(xte):,} test images")
    return 0


def cmd_presets(args) -> int:
    rows = [
        {
            "name": p.name,
            "title": p.title,
            "params": architectures.count_params(p.spec),
            "talk_accuracy": p.talk_accuracy,
            "description": p.description,
        }
        for p in PRESETS.values()
    ]
    if args.json:
        _print_json(rows)
    else:
        print(f"{'preset':<14}{'params':>8}  {'talk':>5}  description")
        for r in rows:
            print(f"{r['name']:<14}{r['params']:>8,}  {r['talk_accuracy']:>5.0%}  {r['description']}")
    return 0


def _load_saved(name: str):
    """(model, spec) of a saved model, or a CliError pointing to `models`."""
    from dnnlab import registry

    try:
        registry.validate_name(name)
        model, meta = registry.load(name)
    except (ValueError, registry.RegistryError) as e:
        raise CliError(f"{e} (presets: {', '.join(PRESETS)}; saved: `python -m dnnlab models`)") from None
    return model, architectures.ModelSpec.from_dict(meta["spec"])


def _load_any(name: str):
    """(model, spec) of a saved model, else of an untrained preset of that name."""
    from dnnlab import registry

    saved = {info.name for info in registry.list_models() if info.ok}
    if name in PRESETS and name not in saved:
        spec = PRESETS[name].spec
        return architectures.build_model(spec), spec
    return _load_saved(name)


def cmd_summary(args) -> int:
    model, _ = _load_any(args.model)
    if args.json:
        _print_json({"layers": architectures.summary_rows(model), "total_params": model.count_params()})
    else:
        print(architectures.summary_text(model))
    return 0


def _resumed_weights(name: str | None, preset: str) -> list | None:
    """The weights of the saved model `name` to train on from; it must be a `preset` network."""
    if name is None:
        return None
    model, spec = _load_saved(name)
    if spec != architectures.preset_spec(preset):
        raise CliError(f"{name!r} is not a {preset} network; --resume needs one")
    return model.get_weights()


def cmd_train(args) -> int:
    from dnnlab import data, registry, training

    spec = architectures.preset_spec(args.preset)
    name = registry.validate_name(args.name or args.preset)
    if not args.replace and (registry.models_dir() / name).exists():
        raise CliError(f"a model named {name!r} already exists; pass --replace or choose --name")
    loaded = data.load()
    arrays = data.load_mnist(limit=args.limit)

    def show(p):
        if p.kind == "epoch" and not args.json:
            val = f"  val_accuracy {p.val_accuracy:.4f}" if p.val_accuracy is not None else ""
            print(
                f"epoch {p.epoch}/{p.epochs}  loss {p.loss:.4f}  accuracy {p.accuracy:.4f}{val}"
                f"  ({p.samples_per_second:,.0f} samples/s)",
                flush=True,
            )

    strategy = training.make_strategy(args.strategy, cpu_devices=args.cpu_devices)
    result = training.train(
        spec,
        arrays,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seed=args.seed,
        validation_split=args.validation_split,
        on_progress=show,
        strategy=strategy,
        keep_best=args.keep_best,
        initial_weights=_resumed_weights(args.resume, args.preset),
    )
    meta = registry.build_meta(result, data_digest=loaded.digest, name=name)
    if args.limit:
        meta["data_limit"] = args.limit
    registry.save(result.model, meta, name, replace=args.replace)
    out = {
        "name": name,
        "preset": args.preset,
        "params": meta["params"],
        "epochs": result.epochs_completed,
        "test_accuracy": result.test_accuracy,
        "test_loss": result.test_loss,
        "train_seconds": meta["train_seconds"],
        "epoch_seconds": meta["epoch_seconds"],
        "replicas": strategy.num_replicas_in_sync if strategy else 1,
    }
    if args.json:
        _print_json(out)
    else:
        print(
            f"saved {name}: test accuracy {_percent(result.test_accuracy)}, "
            f"test loss {result.test_loss:.4f}, {result.train_seconds:.1f} s"
        )
    return 0


def cmd_models(args) -> int:
    from dnnlab import registry

    infos = registry.list_models()
    if args.json:
        _print_json([i.summary() for i in infos])
        return 0
    if not infos:
        print(f"no saved models in {registry.models_dir()}")
    for i in infos:
        if i.ok:
            s = i.summary()
            print(
                f"{i.name:<24}{s['preset'] or 'custom':<14}{s['params'] or 0:>8,} params  "
                f"{_percent(s['test_accuracy'])}"
            )
        else:
            print(f"{i.name:<24}broken: {i.error}")
    return 0


def cmd_predict(args) -> int:
    from dnnlab import images, inference

    model, spec = _load_saved(args.model)
    results, failed = [], 0
    for file in args.files:
        try:
            probabilities = inference.predict(model, spec, images.read_image(file))
        except images.ImageError as e:
            failed += 1
            message = str(e) if str(e).startswith(str(file)) else f"{file}: {e}"
            print(f"error: {message}", file=sys.stderr)
            continue
        digit = int(probabilities.argmax())
        results.append(
            {"file": str(file), "digit": digit, "probabilities": [round(float(p), 6) for p in probabilities]}
        )
        if not args.json:
            print(f"{file}: {digit} ({probabilities[digit]:.1%})")
    if args.json:
        _print_json(results)
    return EXIT_ERROR if failed else 0


def run_name(preset: str, seed: int) -> str:
    """The saved name of one run of `reproduce`: the preset itself for seed 0."""
    return preset if seed == 0 else f"{preset}-seed{seed}"


def cmd_reproduce(args) -> int:
    """Each preset once per seed (seeds are participants too); with --save, each run is kept."""
    import keras
    import pandas as pd

    from dnnlab import data, registry, staircase, training

    seeds = range(args.seed, args.seed + args.seeds)
    if args.save and not args.replace:
        taken = {info.name for info in registry.list_models()}
        clashes = [run_name(p, s) for p in PRESETS for s in seeds if run_name(p, s) in taken]
        if clashes:
            raise CliError(f"models named {', '.join(clashes)} already exist; pass --replace")
    loaded = data.load()
    arrays = data.load_mnist(limit=args.limit)
    rows = []
    for preset in PRESETS.values():
        for seed in seeds:
            name = run_name(preset.name, seed)
            if not args.json:
                print(f"training {name} (seed {seed}) for {args.epochs} epochs…", flush=True)
            keras.backend.clear_session()  # layer names as in a fresh session: dense, dense_1, …
            result = training.train(preset.spec, arrays, epochs=args.epochs, seed=seed)
            if args.save:
                meta = registry.build_meta(result, data_digest=loaded.digest, name=name)
                if args.limit:
                    meta["data_limit"] = args.limit
                registry.save(result.model, meta, name, replace=args.replace)
            rows.append(
                {
                    "preset": preset.name,
                    "seed": seed,
                    "name": name if args.save else None,
                    "params": result.model.count_params(),
                    "test_accuracy": result.test_accuracy,
                    "talk_accuracy": preset.talk_accuracy,
                    "train_seconds": round(result.train_seconds, 1),
                }
            )
    summary = staircase.spread(pd.DataFrame(rows)).astype(object).to_dict("records")  # plain types
    if args.json:
        _print_json({"runs": rows, "presets": summary})
        return 0
    print(f"\n{'preset':<14}{'params':>8}  {'runs':>4}  {'mean':>7}  {'range':>15}  {'talk':>5}")
    params = {r["preset"]: r["params"] for r in rows}
    for s in summary:
        spread = f"{_percent(s['min'])}-{_percent(s['max'])}"
        print(
            f"{s['preset']:<14}{params[s['preset']]:>8,}  {s['runs']:>4}  {_percent(s['mean']):>7}"
            f"  {spread:>15}  {s['talk_accuracy']:>5.0%}"
        )
    return 0


# --- parser -------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dnnlab", description="DNN Lab: deep networks on MNIST.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=func)
        return p

    add("data", cmd_data, "make sure MNIST is present and say where it came from")
    add("presets", cmd_presets, "list the talk's four networks and their parameter counts")
    p = add("summary", cmd_summary, "print the layer table of a preset or saved model")
    p.add_argument("model", metavar="PRESET_OR_MODEL")
    p = add("train", cmd_train, "train a preset, save it and print its test accuracy")
    p.add_argument("--preset", required=True, choices=list(PRESETS))
    p.add_argument("--epochs", type=_positive_int, default=10)
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--lr", type=float, default=0.001, help="Adam learning rate (default 0.001)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validation-split", type=float, default=0.0)
    p.add_argument("--name", help="model name (default: the preset name)")
    p.add_argument(
        "--keep-best",
        action="store_true",
        help="end with the best validation epoch's weights (needs a split)",
    )
    p.add_argument("--resume", metavar="MODEL", help="train on from a saved model of this preset")
    p.add_argument("--replace", action="store_true", help="replace a saved model of the same name")
    p.add_argument("--limit", type=_positive_int, help="train and test on the first N images only")
    p.add_argument(
        "--strategy",
        choices=["default", "mirrored"],
        default="default",
        help="'mirrored': tf.distribute.MirroredStrategy over the available devices",
    )
    p.add_argument(
        "--cpu-devices",
        type=_positive_int,
        default=1,
        help="split the CPU into N logical devices (to try --strategy mirrored without GPUs)",
    )
    add("models", cmd_models, "list saved models with their test accuracy")
    p = add("predict", cmd_predict, "predict the digit in image files")
    p.add_argument("--model", required=True)
    p.add_argument("files", nargs="+", metavar="FILE", type=Path)
    p = add("reproduce", cmd_reproduce, "train the talk's four networks and print the staircase")
    p.add_argument("--epochs", type=_positive_int, default=10)
    p.add_argument("--seed", type=int, default=0, help="the first seed (default 0)")
    p.add_argument(
        "--seeds", type=_positive_int, default=1, help="runs per preset, seeds --seed, --seed+1, …"
    )
    p.add_argument("--limit", type=_positive_int, help="train and test on the first N images only")
    p.add_argument(
        "--save", action="store_true", help="save each run as <preset> (seed 0) or <preset>-seed<N>"
    )
    p.add_argument("--replace", action="store_true", help="with --save: replace saved models of those names")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # argparse exits with status 2 on bad usage
    if args.func not in (cmd_data, cmd_models):  # the two commands that need no TensorFlow
        import_tensorflow_quietly()
    from dnnlab import data, registry

    try:
        return args.func(args)
    except (CliError, ValueError, data.MnistError, registry.RegistryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
