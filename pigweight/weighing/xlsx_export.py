"""`GET /api/weight/records.xlsx`: the weighings as the farm office opens them in Excel.

Sheets: the records (one row each, oldest first), a summary per day and camera, and, when
the records belong to batches, each of those batches as a whole (head weighed against
expected, average, range and uniformity).
Numbers are numbers, moments are Excel dates in the farm's time, headers and words are in
the page's language; text typed by people stays text (never a formula). Written by
openpyxl in write-only mode (rows streamed, not held as cell objects), so a year of
weighings is a few megabytes of memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from pigweight.domain import Batch, WeightRecord
from pigweight.store.batches import figures
from pigweight.weighing.csv_export import RU_COLUMNS, RU_COUNT_SOURCE, RU_WEIGHT_SOURCE

# The records sheet's columns, by the daily files' names: the weight's source sits by the
# count's here (the CSV keeps it last for scripts that read by position).
_RECORD_COLUMNS = [
    "timestamp",
    "camera",
    "batch",
    "count",
    "total_weight_kg",
    "avg_weight_kg",
    "count_source",
    "confidence",
    "weight_source",
    "note",
    "record_id",
    "corrects_record_id",
]
_EN_COLUMNS = {
    "timestamp": "Date and time",
    "camera": "Camera",
    "count": "Head",
    "total_weight_kg": "Total weight, kg",
    "avg_weight_kg": "Average weight, kg",
    "count_source": "Count",
    "confidence": "Count confidence",
    "note": "Note",
    "record_id": "Record #",
    "corrects_record_id": "Corrects record #",
    "weight_source": "Weight",
    "batch": "Batch",
}

_TEXT: dict[str, dict[str, Any]] = {
    "ru": {
        "records": "Взвешивания",
        "summary": "Сводка",
        "columns": RU_COLUMNS,
        "summary_columns": [
            "Дата",
            "Камера",
            "Взвешиваний",
            "Голов",
            "Общий вес, кг",
            "Средний вес, кг",
            "Мин. средний, кг",
            "Макс. средний, кг",
            "Разброс средних (CV), %",
        ],
        "batches": "Партии",
        "batch_columns": [
            "Партия",
            "Камера",
            "Начата",
            "Закрыта",
            "Голов в партии",
            "Взвешено голов",
            "Осталось",
            "Взвешиваний",
            "Общий вес, кг",
            "Средний вес, кг",
            "Мин. средний, кг",
            "Макс. средний, кг",
            "Однородность (CV), %",
            "Цель, кг",
            "От цели, кг",
        ],
        "total": "Итого",
        "count_source": RU_COUNT_SOURCE,
        "weight_source": RU_WEIGHT_SOURCE,
        "datetime": "DD.MM.YYYY HH:MM:SS",
        "date": "DD.MM.YYYY",
    },
    "en": {
        "records": "Weighings",
        "summary": "Summary",
        "columns": _EN_COLUMNS,
        "summary_columns": [
            "Date",
            "Camera",
            "Weighings",
            "Head",
            "Total weight, kg",
            "Average weight, kg",
            "Min average, kg",
            "Max average, kg",
            "Spread of averages (CV), %",
        ],
        "batches": "Batches",
        "batch_columns": [
            "Batch",
            "Camera",
            "Started",
            "Closed",
            "Head in batch",
            "Head weighed",
            "Remaining",
            "Weighings",
            "Total weight, kg",
            "Average weight, kg",
            "Min average, kg",
            "Max average, kg",
            "Uniformity (CV), %",
            "Target, kg",
            "Vs target, kg",
        ],
        "total": "Total",
        "count_source": {"auto": "camera", "manual": "typed"},
        "weight_source": {"scale": "scale", "manual": "typed"},
        "datetime": "YYYY-MM-DD HH:MM:SS",
        "date": "YYYY-MM-DD",
    },
}


@dataclass
class _Group:
    """The weighings of one day and camera, or of all (the total row)."""

    groups: list[tuple[int, float, float]] = field(default_factory=list)

    def add(self, record: WeightRecord) -> None:
        self.groups.append((record.count, record.total_weight_kg, record.avg_weight_kg))

    def row(self) -> list[float | int | None]:
        # The spread as a batch has it: of the group averages, weighted by head.
        f = figures(self.groups)
        return [
            f.get("weighings", 0),
            f.get("animals", 0),
            f.get("total_weight_kg", 0.0),
            f.get("avg_weight_kg"),
            f.get("min_avg_weight_kg"),
            f.get("max_avg_weight_kg"),
            f.get("cv_percent"),
        ]


def workbook_bytes(
    records: Iterable[WeightRecord],
    language: str,
    batches: Sequence[Batch] = (),
    zone: tzinfo | None = None,
) -> bytes:
    """The .xlsx file of these records (oldest first) in `language` ("ru" or "en"), with
    a sheet of `batches` (those the records belong to) when there are any."""
    text = _TEXT[language]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(text["records"])
    summary = book.create_sheet(text["summary"])
    columns = [text["columns"][name] for name in _RECORD_COLUMNS]
    _header(sheet, columns, [20, 14, 16, 8, 16, 16, 10, 12, 10, 40, 10, 12])
    groups: dict[tuple[str, str], _Group] = {}
    everything = _Group()
    for record in records:
        when = datetime.fromisoformat(record.local_time).replace(tzinfo=None)
        sheet.append(
            [
                _dated(sheet, when, text["datetime"]),
                _text(sheet, record.camera),
                _text(sheet, record.batch_name or ""),
                record.count,
                record.total_weight_kg,
                record.avg_weight_kg,
                text["count_source"].get(record.count_source, record.count_source),
                record.confidence,
                text["weight_source"].get(record.weight_source, record.weight_source),
                _text(sheet, record.note),
                record.id,
                record.corrects_id,
            ]
        )
        groups.setdefault((record.local_date, record.camera), _Group()).add(record)
        everything.add(record)
    _header(summary, text["summary_columns"], [12, 14, 12, 8, 16, 16, 16, 16, 14])
    for (day, camera), group in sorted(groups.items()):
        date = datetime.strptime(day, "%Y%m%d")
        summary.append([_dated(summary, date, text["date"]), _text(summary, camera), *group.row()])
    if len(groups) > 1:
        bold = WriteOnlyCell(summary, value=text["total"])
        bold.font = Font(bold=True)
        summary.append([bold, None, *everything.row()])
    if batches:
        _batch_sheet(book.create_sheet(text["batches"]), batches, text, zone)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _batch_sheet(
    sheet: WriteOnlyWorksheet, batches: Sequence[Batch], text: dict[str, Any], zone: tzinfo | None
) -> None:
    _header(
        sheet, text["batch_columns"], [18, 14, 18, 18, 10, 10, 10, 10, 14, 14, 14, 14, 12, 10, 10]
    )
    for b in batches:
        started = _dated(sheet, _local(b.started_ts, zone), text["datetime"])
        closed = (
            None
            if b.closed_ts is None
            else _dated(sheet, _local(b.closed_ts, zone), text["datetime"])
        )
        avg, target = b.avg_weight_kg, b.target_avg_kg
        sheet.append(
            [
                _text(sheet, b.name),
                _text(sheet, b.camera),
                started,
                closed,
                b.expected_head,
                b.animals,
                None if b.expected_head is None else b.expected_head - b.animals,
                b.weighings,
                b.total_weight_kg,
                avg,
                b.min_avg_weight_kg,
                b.max_avg_weight_kg,
                b.cv_percent,
                target,
                None if avg is None or target is None else round(avg - target, 3),
            ]
        )


def _local(ts: float, zone: tzinfo | None) -> datetime:
    """A moment as the farm's wall time (Excel dates have no zone)."""
    return datetime.fromtimestamp(ts, zone).replace(tzinfo=None)


def _header(sheet: WriteOnlyWorksheet, names: list[str], widths: list[int]) -> None:
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    cells = []
    for name in names:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)


def _text(sheet: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    """A cell that stays text: openpyxl makes a formula of a string that starts with `=`,
    and a note `=HYPERLINK(...)` must not run in the office's Excel."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _dated(sheet: WriteOnlyWorksheet, moment: datetime, number_format: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=moment)
    cell.number_format = number_format
    return cell
