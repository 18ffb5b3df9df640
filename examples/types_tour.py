"""Every literal type: dataclasses, enums, dates, durations, lists, dicts, Optional."""

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Optional

from slipstream import task, workflow


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Point:
    x: float
    y: float


@dataclass
class Shape:
    name: str
    points: list[Point]
    tags: dict[str, str] = field(default_factory=dict)
    color: Optional[Color] = None


@task
def perimeter(shape: Shape) -> float:
    pts = shape.points
    return sum(((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5 for a, b in zip(pts, pts[1:] + pts[:1], strict=True))


@task
def deadline(start: dt.datetime, allowed: dt.timedelta, day: dt.date) -> dt.datetime:
    return max(start, dt.datetime.combine(day, dt.time())) + allowed


@task
def paint(shape: Shape, color: Color) -> Shape:
    shape.color = color
    return shape


@workflow
def tour(shape: Shape, color: Color = Color.GREEN, start: dt.datetime = dt.datetime(2024, 1, 1),
         allowed: dt.timedelta = dt.timedelta(hours=1), day: dt.date = dt.date(2024, 1, 2),
         note: Optional[str] = None) -> tuple[float, dt.datetime, Shape]:
    return perimeter(shape=shape), deadline(start=start, allowed=allowed, day=day), paint(shape=shape, color=color)
