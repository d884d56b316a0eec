"""Next-period forecasts of a monthly series (VAT revenue, insured headcount) with River.

One global online regressor per series, shared by all enterprises (a per-enterprise model
would not fit a 4 KB state). It predicts how far ``log1p(value)`` of the next month lies
from the mean ``log1p`` of the last three months (a smoothed level), from lag features:
last month's change, the same change a year earlier (seasonality of this enterprise), the
12-month trend, the gap of the last month to the 3-month mean, and the calendar month
(seasonality common to the park); Adam, Huber loss, no scaler (the inputs are
log-differences of similar scale). An untrained model predicts the smoothed level.

Each new month is learned once (the state remembers the last learned period); before
learning, the forecast made for that month is compared with the actual value, and so is
the seasonal-naive forecast (same month last year, or last month when there is no year):
both go into River ``SMAPE`` metrics on the same months.
"""

from __future__ import annotations

import math

from river import linear_model, metrics, optim

MAX_STEP = 3.0  # a predicted log-change beyond ±3 (×20) is clipped


def log_values(values: list[int | None]) -> list[float | None]:
    return [None if v is None else math.log1p(max(v, 0)) for v in values]


def base_level(logs: list[float | None], target: int) -> float | None:
    """Mean log of the last three months before ``target`` (``None`` without last month)."""
    if not 0 < target <= len(logs) or logs[target - 1] is None:
        return None
    recent = [v for v in logs[max(0, target - 3) : target] if v is not None]
    return sum(recent) / len(recent)


def lag_features(logs: list[float | None], target: int, calendar_month: int) -> dict[str, float] | None:
    """Features to predict position ``target`` from positions before it (``None``: no last value)."""
    last = logs[target - 1] if 0 < target <= len(logs) else None
    if last is None:
        return None

    def at(i: int) -> float | None:
        return logs[i] if 0 <= i < len(logs) else None

    x: dict[str, float] = {f"month_{calendar_month}": 1.0}
    prev = at(target - 2)
    if prev is not None:
        x["step_1"] = last - prev
    seasonal_to, seasonal_from = at(target - 12), at(target - 13)
    if seasonal_to is not None and seasonal_from is not None:
        x["step_year_ago"] = seasonal_to - seasonal_from
    year_ago = at(target - 13)
    if year_ago is not None:
        x["trend_12"] = (last - year_ago) / 12.0
    recent = [v for v in (at(target - 1), at(target - 2), at(target - 3)) if v is not None]
    x["gap_to_mean3"] = last - sum(recent) / len(recent)
    return x


def seasonal_naive(values: list[int | None], target: int) -> float | None:
    """Same month last year, or last month when there is no year."""
    if target - 12 >= 0 and (v := values[target - 12]) is not None:
        return float(v)
    if target - 1 >= 0 and (v := values[target - 1]) is not None:
        return float(v)
    return None


class SeriesForecaster:
    """A global online model of next-month log-change, with its error against seasonal-naive.

    Parameters
    ----------
    learning_rate
        Adam step of the linear model.
    l2
        Ridge penalty.

    Examples
    --------
    >>> f = SeriesForecaster()
    >>> f.forecast([100, 110, None, 120], 4, calendar_month=5)  # untrained: the smoothed level
    114.89
    """

    def __init__(self, learning_rate: float = 0.001, l2: float = 1e-4) -> None:
        self.learning_rate = learning_rate
        self.l2 = l2
        # inputs are log-differences of similar scale: no scaler (it made early forecasts worse)
        self.model = linear_model.LinearRegression(
            optimizer=optim.Adam(learning_rate), loss=optim.losses.Huber(0.5), l2=l2, intercept_lr=learning_rate
        )
        self.smape = metrics.SMAPE()
        self.naive_smape = metrics.SMAPE()
        self.learned = 0
        self.scored = 0

    def forecast(self, values: list[int | None], target: int, calendar_month: int) -> float | None:
        """Forecast of ``values[target]`` (``target`` may be one past the end)."""
        logs = log_values(values[:target])
        x = lag_features(logs, target, calendar_month)
        base = base_level(logs, target)
        if x is None or base is None:
            return None
        step = self.model.predict_one(x)
        step = 0.0 if not math.isfinite(step) else max(-MAX_STEP, min(MAX_STEP, step))
        return round(max(0.0, math.expm1(base + step)), 2)

    def observe(
        self, values: list[int | None], target: int, calendar_month: int, forecast: float | None
    ) -> None:
        """Score ``forecast`` (made for ``target`` earlier) and learn the actual ``values[target]``."""
        actual = values[target]
        if actual is None:
            return
        naive = seasonal_naive(values, target)
        if forecast is not None and naive is not None:
            self.smape.update(float(actual), forecast)
            self.naive_smape.update(float(actual), naive)
            self.scored += 1
        logs = log_values(values[: target + 1])
        x = lag_features(logs[:target], target, calendar_month)
        base, now = base_level(logs, target), logs[target]
        if x is not None and base is not None and now is not None:
            self.model.learn_one(x, now - base)
            self.learned += 1

    def report(self) -> dict[str, float]:
        """sMAPE (percent) of the model and of seasonal-naive over the same months."""
        return {"smape": self.smape.get(), "naive_smape": self.naive_smape.get(), "months": float(self.scored)}
