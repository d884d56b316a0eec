"""``entbrain report --period YYYY-MM [--district CODE] [--format html|pdf] [--out FILE]``."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from config import Settings
from streams.report.period import parse_district, parse_period
from streams.report.queries import build_report
from streams.report.render import render_html


def default_out(period: str, district: str, fmt: str) -> Path:
    return Path(f"entbrain-report-{period}{'-' + district if district else ''}.{fmt}")


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from streams.cli import out, run_sql

    period = parse_period(args.period)
    district = parse_district(args.district)
    target = Path(args.out) if args.out else default_out(period.period, district, args.format)
    started = time.monotonic()

    def fetch(sql: str, parameters: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
        return run_sql(settings, sql, parameters)

    report = build_report(fetch, period, district)
    queried = time.monotonic() - started
    page = render_html(report)
    if args.format == "pdf":
        from streams.report.pdf import html_to_pdf

        with tempfile.TemporaryDirectory(prefix="entbrain-report-") as tmp:
            html_file = Path(tmp) / "report.html"
            html_file.write_text(page, encoding="utf-8")
            html_to_pdf(html_file, target)
    else:
        target.write_text(page, encoding="utf-8")
    out.print(f"wrote {target} ({target.stat().st_size:,} bytes; queries {queried:.1f}s, "
              f"total {time.monotonic() - started:.1f}s)", markup=False, highlight=False)  # fmt: skip
    return 0


def add_parser(sub: Any) -> None:
    report = sub.add_parser("report", help="the monthly report (一键生成): HTML or PDF, no network needed to view")
    report.add_argument("--period", required=True, help="the month, YYYY-MM")
    report.add_argument("--district", help="a GB/T 2260 district code (default: the whole park)")
    report.add_argument("--format", choices=["html", "pdf"], default="html")
    report.add_argument("--out", help="default: entbrain-report-<period>[-<district>].<format>")
    report.set_defaults(handler=_report)
