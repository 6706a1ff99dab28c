"""Rolling evaluation on OULAD, as before: now a thin wrapper around the experiment runner.

The protocol, the models and the target live in ``experiments/oulad_rolling.toml``
(``[split] kind = "rolling"``, see :mod:`experiments.rolling`); this prints its report.

    python -m experiments.rolling_oulad --data ../shared/data/oulad --out work/rolling_oulad

is the same as ``recommender experiment run experiments/oulad_rolling.toml --data-root
../shared/data --out work/rolling_oulad``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from experiments.runner import run_experiment

CONFIG = Path(__file__).resolve().parent / "oulad_rolling.toml"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="the OULAD folder (default: ../shared/data/oulad)")
    parser.add_argument("--out", type=Path, default=Path("work/rolling_oulad"))
    parser.add_argument("--config", type=Path, default=CONFIG)
    args = parser.parse_args(argv)
    data_root = None if args.data is None else args.data.resolve().parent
    if args.data is not None and args.data.name != "oulad":
        parser.error("--data must be a folder named 'oulad' (use --config for another layout)")

    def step(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    result = run_experiment(args.config, out_dir=args.out, data_root=data_root, on_step=step,
                            command="python -m experiments.rolling_oulad "
                            + " ".join(argv if argv is not None else sys.argv[1:]))
    print(result.report_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
