"""The report's pure parts: the period, the changes, the page (escaped, offline)."""

from __future__ import annotations

import html.parser
from decimal import Decimal

import pytest

from streams.report.figures import (
    AlertCount,
    Change,
    IndustryRow,
    KeyFigures,
    ListChangeRow,
    Mover,
    Report,
    SourceFreshness,
    TierMove,
)
from streams.report.period import parse_district, parse_period
from streams.report.render import render_html


def test_a_period_knows_its_month_before_and_its_bounds() -> None:
    p = parse_period("2026-01")
    assert (p.period, p.previous) == ("2026-01", "2025-12")
    assert (p.start, p.end, p.previous_start) == ("2026-01-01 00:00:00", "2026-02-01 00:00:00", "2025-12-01 00:00:00")
    assert parse_period(" 2026-12 ").end == "2027-01-01 00:00:00"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-4", "26-04", "2026/04", "", "2026-04-01", "0001-01", "9999-12", "2101-01"])
def test_a_bad_period_says_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_period(text)


def test_a_district_is_a_gbt2260_code_or_the_whole_park() -> None:
    assert parse_district(None) == "" and parse_district("330110") == "330110"
    with pytest.raises(ValueError):
        parse_district("33011")


def test_a_change_against_zero_has_no_ratio() -> None:
    assert Change(Decimal(110), Decimal(100)).ratio == pytest.approx(0.1)
    assert Change(Decimal(5), Decimal(0)).ratio is None


def sample(name: str = "杭州测试科技有限公司") -> Report:
    one = Change(Decimal("1250"), Decimal("1000"))
    key = KeyFigures(one, one, one, one, one, one)
    return Report(
        "2026-04", "2026-03", "", "2026-05-01 00:00:00 UTC", key,
        tiers=[TierMove("base", "growth", 3), TierMove("growth", "growth", 5), TierMove("", "base", 1)],
        alerts=[AlertCount("layoff", "330110", 2, 1, 1, 0)],
        list_changes=[ListChangeRow("kunpeng", "enter", "91330100MA2XXXXXX1", name, "2026-04-03 00:00:00")],
        movers={"composite": [Mover("composite", "91330100MA2XXXXXX1", name, 40.0, 52.5)]},
        industries=[IndustryRow("C", 9, 40.0, 50.0, 60.0, 51.0, 49.0)],
        sources=[SourceFreshness("tax", "<script>alert(1)</script>", "2026-04-30 10:00:00", "2026-05-01 00:00:00", 9, 3)],
    )  # fmt: skip


class Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.external += [v for k, v in attrs if k in ("src", "href") and v and not v.startswith("#")]


def test_the_page_is_offline_escaped_and_shows_the_tier_counts() -> None:
    page = render_html(sample(name="<b>坏名字</b>"))
    tags = Tags()
    tags.feed(page)
    assert tags.external == [] and tags.scripts >= 3  # Plotly inline + the charts
    assert "<b>坏名字</b>" not in page and "&lt;b&gt;坏名字&lt;/b&gt;" in page
    assert "<script>alert(1)</script>" not in page
    assert "1,250.00" in page and "+25.0%" in page
    assert sample().tier_counts("2026-04") == {"growth": 8, "base": 1}
    assert sample().tier_counts("2026-03") == {"base": 3, "growth": 5}


def test_text_inside_a_chart_cannot_close_its_script() -> None:
    report = sample()
    report.industries[0] = IndustryRow("</script><script>x()</script>", 1, 1.0, 1.0, 1.0, 1.0, None)
    page = render_html(report)
    assert "</script><script>x()" not in page
