"""Run entbrain's streaming detector over the NAB corpus and score it.

Usage::

    python -m bench.nab --data /work/shared/nab/data \\
        --windows /work/shared/nab/labels/combined_windows.json \\
        --results /tmp/nab-results [--profiles FILE] [--json FILE] [--baseline]

``--cv`` runs the leave-one-category-out cross-validation of :mod:`bench.nab_cv` instead
(``--results`` is then not written). Every ``<category>/<name>.csv`` below ``--data`` is streamed row by row through a fresh
detector (score, then learn); the scores are written in NAB's results layout
``<results>/<detector>/<category>/<detector>_<name>.csv`` and then scored with
:mod:`bench.nab_scoring`. ``--baseline`` also runs a plain Gaussian z-score detector
(``(2/pi)·atan|z|``) for comparison.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from river import base, stats

from bench.nab_scoring import (
    DEFAULT_PROFILES,
    CostProfile,
    FileLabels,
    label_rows,
    load_profiles,
    optimize_threshold,
    score_file,
    sweep_thresholds,
    window_rows,
)
from detectors.univariate import StreamingDetector

__all__ = ["GaussianBaseline", "SeriesRun", "main", "run_series", "run_series_with"]

DETECTORS: dict[str, Callable[[], base.AnomalyDetector]] = {}


class GaussianBaseline(base.AnomalyDetector):
    """Whole-history z-score of the value mapped to ``(2/pi)·atan|z|`` (a NAB baseline)."""

    def __init__(self, grace_period: int = 100) -> None:
        self.grace_period = grace_period
        self._var = stats.Var()

    def learn_one(self, x: dict[base.typing.FeatureName, Any]) -> None:
        self._var.update(float(next(iter(x.values()))))

    def score_one(self, x: dict[base.typing.FeatureName, Any]) -> float:
        if self._var.n < self.grace_period:
            return 0.0
        sd = math.sqrt(max(self._var.get(), 0.0))
        value = float(next(iter(x.values())))
        z = abs(value - self._var.mean.get()) / sd if sd > 0 else 0.0
        return 2.0 / math.pi * math.atan(z)


DETECTORS["entbrain"] = StreamingDetector
DETECTORS["gaussian"] = GaussianBaseline


@dataclass(frozen=True, slots=True)
class SeriesRun:
    """Scores of one detector over one file and the time it took."""

    detector: str
    relative: str
    scores: npt.NDArray[np.float64]
    seconds: float


def load_series(path: Path) -> tuple[list[str], npt.NDArray[np.float64]]:
    """Read a NAB ``timestamp,value`` CSV."""
    timestamps: list[str] = []
    values: list[float] = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            timestamps.append(row[0])
            values.append(float(row[1]))
    return timestamps, np.asarray(values)


def run_series(detector: str, data_dir: str, relative: str) -> SeriesRun:
    """Stream one file through a fresh detector: score each row, then learn it."""
    return _stream(detector, DETECTORS[detector](), data_dir, relative)


def run_series_with(params: dict[str, Any], data_dir: str, relative: str) -> SeriesRun:
    """Like :func:`run_series` for a :class:`StreamingDetector` with ``params``."""
    return _stream("entbrain", StreamingDetector(**params), data_dir, relative)


def _stream(detector: str, model: base.AnomalyDetector, data_dir: str, relative: str) -> SeriesRun:
    _, values = load_series(Path(data_dir) / relative)
    scores = np.empty(len(values))
    start = time.perf_counter()
    for i, value in enumerate(values.tolist()):
        x: dict[base.typing.FeatureName, Any] = {"value": value}
        scores[i] = model.score_one(x)
        model.learn_one(x)
    return SeriesRun(detector, relative, scores, time.perf_counter() - start)


def write_results(
    results_dir: Path,
    run: SeriesRun,
    timestamps: Sequence[str],
    values: npt.NDArray[np.float64],
    labels: FileLabels,
) -> Path:
    """Write one NAB results file: ``timestamp,value,anomaly_score,label``."""
    category, name = run.relative.split("/", 1)
    out = results_dir / run.detector / category / f"{run.detector}_{name}"
    out.parent.mkdir(parents=True, exist_ok=True)
    in_window = labels.window >= 0
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["timestamp", "value", "anomaly_score", "label"])
        for ts, v, s, lab in zip(timestamps, values, run.scores, in_window, strict=True):
            writer.writerow([ts, repr(float(v)), repr(float(s)), int(lab)])
    return out


def _file_labels(
    data_dir: Path, relative: str, windows: dict[str, list[list[str]]]
) -> tuple[list[str], npt.NDArray[np.float64], FileLabels]:
    timestamps, values = load_series(data_dir / relative)
    parsed = [datetime.fromisoformat(t) for t in timestamps]
    rows = window_rows(parsed, [tuple(w) for w in windows.get(relative, [])])
    return timestamps, values, label_rows(len(values), rows)


def _default_profiles(windows: Path) -> tuple[CostProfile, ...]:
    candidate = windows.resolve().parent.parent / "profiles.json"
    return load_profiles(candidate) if candidate.exists() else DEFAULT_PROFILES


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.nab``."""
    parser = argparse.ArgumentParser(prog="python -m bench.nab", description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--windows", required=True, type=Path)
    parser.add_argument("--results", required=True, type=Path)
    parser.add_argument("--profiles", type=Path)
    parser.add_argument("--json", type=Path, help="write the entbrain figures here")
    parser.add_argument("--baseline", action="store_true", help="also score a Gaussian baseline")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (timing is noisier)")
    parser.add_argument("--per-file", action="store_true", help="print per-file standard scores")
    parser.add_argument("--cv", action="store_true", help="leave-one-category-out cross-validation (bench.nab_cv)")
    args = parser.parse_args(argv)
    if args.cv:
        from bench import nab_cv

        forwarded = ["--data", str(args.data), "--windows", str(args.windows), "--jobs", str(args.jobs)]
        forwarded += ["--profiles", str(args.profiles)] if args.profiles else []
        return nab_cv.main(forwarded + (["--json", str(args.json)] if args.json else []))

    console = Console(width=max(Console().width, 120))
    profiles = load_profiles(args.profiles) if args.profiles else _default_profiles(args.windows)
    windows = json.loads(args.windows.read_text())
    files = sorted(p.relative_to(args.data).as_posix() for p in args.data.glob("*/*.csv"))
    detectors = ["entbrain"] + (["gaussian"] if args.baseline else [])
    layouts = {rel: _file_labels(args.data, rel, windows) for rel in files}

    runs: dict[str, dict[str, SeriesRun]] = {d: {} for d in detectors}
    jobs = [(d, str(args.data), rel) for d in detectors for rel in files]
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("NAB", total=len(jobs))
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                for run in pool.map(run_series, *zip(*jobs, strict=True)):
                    runs[run.detector][run.relative] = run
                    progress.advance(task)
        else:
            for job in jobs:
                run = run_series(*job)
                runs[run.detector][run.relative] = run
                progress.advance(task)

    table = Table(title=f"NAB ({len(files)} files)")
    table.add_column("detector")
    for profile in profiles:
        table.add_column(profile.name, justify="right")
    table.add_column("µs/record (median, total)", justify="right")
    figures: dict[str, dict[str, float]] = {}
    for det in detectors:
        for rel in files:
            ts, values, lab = layouts[rel]
            write_results(args.results, runs[det][rel], ts, values, lab)
        scores = [runs[det][rel].scores for rel in files]
        labels = [layouts[rel][2] for rel in files]
        sweep = sweep_thresholds(scores, labels)
        results = [optimize_threshold(sweep, None, p) for p in profiles]
        per_file = [runs[det][r].seconds / max(len(runs[det][r].scores), 1) for r in files]
        n_rows = sum(len(s) for s in scores)
        median_us = 1e6 * statistics.median(per_file)
        total_us = 1e6 * sum(runs[det][r].seconds for r in files) / max(n_rows, 1)
        figures[det] = {r.profile.name: r.normalized for r in results}
        figures[det]["us_per_record"] = total_us
        table.add_row(
            det,
            *(f"{r.normalized:.1f} (θ={r.threshold:.6g})" for r in results),
            f"{median_us:.1f}, {total_us:.1f}",
        )
        if args.per_file:
            _print_per_file(console, det, files, scores, labels, results[0])
    console.print(table)

    if args.json:
        main_figures: dict[str, Any] = {"files": len(files), **figures["entbrain"]}
        if args.baseline:
            main_figures["baseline"] = figures["gaussian"]
        args.json.write_text(json.dumps(main_figures, indent=2))
    return 0


def _print_per_file(
    console: Console,
    detector: str,
    files: Sequence[str],
    scores: Sequence[npt.NDArray[np.float64]],
    labels: Sequence[FileLabels],
    best: Any,
) -> None:
    table = Table(title=f"{detector}: per file, {best.profile.name} θ={best.threshold:.6g}")
    for col in ("file", "windows", "raw", "detections", "vs null"):
        table.add_column(col, justify="right" if col != "file" else "left")
    for rel, s, lab in zip(files, scores, labels, strict=True):
        raw = score_file(s, lab, best.threshold, best.profile)
        flagged = int(((s >= best.threshold) & (lab.window != -2)).sum())
        null = -best.profile.fn_weight * lab.n_windows
        table.add_row(rel, str(lab.n_windows), f"{raw:.3f}", str(flagged), f"{raw - null:+.3f}")
    console.print(table)


if __name__ == "__main__":
    raise SystemExit(main())
