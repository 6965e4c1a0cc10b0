"""Report windows and periods: validated dates, the periods that cover them, and
how a window splits into whole quarters and months (read from the quarterly and
monthly rollup) and the days at its edges (read from the daily rollup or the orders)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_

from backroom.errors import Unprocessable
from backroom.orders.models import Order
from backroom.reports.rollup import COUNTED
from backroom.reports.schemas import Granularity

DEFAULT_DAYS = 30  # without from/to: the 30 days ending today (UTC)
MAX_DAYS = 3653  # ten years, counting both ends


@dataclass(frozen=True, slots=True)
class Window:
    """Inclusive UTC dates."""

    first: date
    last: date

    def where(self) -> ColumnElement[bool]:
        """Counted orders paid within the window."""
        o = Order.__table__.c
        start = datetime.combine(self.first, time(), UTC)
        clauses = [o.status.in_(sorted(COUNTED)), o.paid_at >= start]
        if self.last < date.max:  # the last representable day has no next midnight
            clauses.append(o.paid_at < datetime.combine(self.last + timedelta(days=1), time(), UTC))
        return and_(*clauses)


def window(first: date | None, last: date | None, *, today: date) -> Window:
    """Validate ``from``/``to``; either missing is filled in (see docs/reports.md)."""
    if last is None:
        last = max(today, first) if first is not None else today
    if first is None:
        first = last - timedelta(days=min(DEFAULT_DAYS - 1, last.toordinal() - 1))
    if first > last:
        raise Unprocessable.field("from", "must not be after to")
    if (last - first).days >= MAX_DAYS:
        raise Unprocessable.field("from", "the range must not exceed ten years")
    return Window(first, last)


def period_start(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())  # ISO: Monday is weekday 0
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


def _next_period(start: date, granularity: Granularity) -> date:
    if granularity is Granularity.WEEK:
        return start + timedelta(days=7)
    if granularity is Granularity.MONTH:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


def period_starts(within: Window, granularity: Granularity) -> list[date]:
    """Every period that overlaps the window, the first one containing ``from``."""
    out = [period_start(within.first, granularity)]
    while True:
        try:
            following = _next_period(out[-1], granularity)
        except (OverflowError, ValueError):  # past date.max
            return out
        if following > within.last:
            return out
        out.append(following)


@dataclass(frozen=True, slots=True)
class Split:
    """A window as whole calendar quarters (``quarters``: first and last quarter start,
    or None), whole months outside them (``months``: inclusive ranges of month starts)
    and the day ranges before and after the months (``edges``, inclusive)."""

    quarters: tuple[date, date] | None
    months: tuple[tuple[date, date], ...]
    edges: tuple[tuple[date, date], ...]


def split(within: Window) -> Split:
    first_month = within.first if within.first.day == 1 else _month_after(within.first)
    last_month = _month_ending_by(within.last)
    if first_month is None or last_month is None or first_month > last_month:
        return Split(None, (), ((within.first, within.last),))
    edges = []
    if within.first < first_month:
        edges.append((within.first, first_month - timedelta(days=1)))
    after_last = _month_after(last_month)
    if after_last is not None and after_last <= within.last:
        edges.append((after_last, within.last))
    quarters, months = _quarters(_index(first_month), _index(last_month))
    return Split(quarters, months, tuple(edges))


def _quarters(
    first: int, last: int
) -> tuple[tuple[date, date] | None, tuple[tuple[date, date], ...]]:
    """Month indexes [first, last] as whole quarters and the months either side."""
    q_first, q_last = first + (-first % 3), (last - 2) - ((last - 2) % 3)
    if q_first > q_last:
        return None, ((_month(first), _month(last)),)
    months = []
    if first < q_first:
        months.append((_month(first), _month(q_first - 1)))
    if q_last + 3 <= last:
        months.append((_month(q_last + 3), _month(last)))
    return (_month(q_first), _month(q_last)), tuple(months)


def _index(month: date) -> int:
    return month.year * 12 + month.month - 1


def _month(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _month_after(day: date) -> date | None:
    """The first day of the month after ``day``'s (None past the last representable)."""
    if day.year == date.max.year and day.month == 12:
        return None
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_ending_by(day: date) -> date | None:
    """The start of the last whole month that ends on or before ``day``."""
    following = _month_after(day)
    if following is None or following - timedelta(days=1) == day:
        return day.replace(day=1)
    if day.year == date.min.year and day.month == 1:
        return None
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)
