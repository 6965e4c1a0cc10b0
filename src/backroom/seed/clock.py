"""When orders happen: a growing shop, busier evenings, weekends and Novembers.

Order ``i`` of ``n`` is placed at the inverse of the cumulative order rate at
``(i + u) / n``, so times come out already sorted (their UUIDv7 ids then append
to the indexes) without holding them all in memory.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta

from backroom.seed.plan import HOUR, Plan

_GROWTH = 1.5  # the last day sells 2.5 times the first
# Relative order rate by UTC hour, weekday (Monday first) and month (January first).
_HOURS = (3, 2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 7, 6, 6, 6, 7, 8, 9, 9, 8, 6, 4)
_WEEKDAYS = (1.0, 0.95, 0.95, 1.0, 1.1, 1.25, 1.2)
_MONTHS = (0.8, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.4, 1.7)
# The newest orders (inside the payment timeout) can still be unpaid. So that a run
# of any size shows some, that last stretch gets at least this share of the orders.
_MIN_OPEN_SHARE = 0.0005


class Clock:
    def __init__(self, plan: Plan) -> None:
        self.count = max(plan.orders, 1)
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.cumulative: list[float] = []
        open_from = plan.now_us - plan.payment_timeout_us
        span = max(open_from - plan.start_us, 1)
        total = 0.0
        moment = plan.start_us
        while moment < open_from:
            end = min(moment + HOUR, open_from)
            total += _rate(moment, (moment - plan.start_us) / span) * (end - moment) / HOUR
            self._bucket(moment, end, total)
            moment = end
        last = _rate(open_from, 1.0) * plan.payment_timeout_us / HOUR
        self._bucket(open_from, plan.now_us, total + max(last, total * _MIN_OPEN_SHARE))

    def _bucket(self, start: int, end: int, cumulative: float) -> None:
        self.starts.append(start)
        self.ends.append(end)
        self.cumulative.append(cumulative)

    def at(self, index: int, jitter: float) -> int:
        """The time of order ``index`` (increasing with it); ``jitter`` in [0, 1)."""
        target = (index + jitter) / self.count * self.cumulative[-1]
        b = min(bisect.bisect_right(self.cumulative, target), len(self.cumulative) - 1)
        before = self.cumulative[b - 1] if b else 0.0
        weight = self.cumulative[b] - before
        share = (target - before) / weight if weight > 0 else 0.0
        return self.starts[b] + int(share * (self.ends[b] - self.starts[b]))


def _rate(micros: int, progress: float) -> float:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    return (
        (1 + _GROWTH * progress)
        * _HOURS[moment.hour]
        * _WEEKDAYS[moment.weekday()]
        * _MONTHS[moment.month - 1]
    )
