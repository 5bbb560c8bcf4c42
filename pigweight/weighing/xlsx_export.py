"""`GET /api/weight/records.xlsx`: the weighings as the farm office opens them in Excel.

Two sheets: the records (one row each, oldest first) and a summary per day and camera.
Numbers are numbers, moments are Excel dates in the farm's time, headers and words are in
the page's language; text typed by people stays text (never a formula). Written by
openpyxl in write-only mode (rows streamed, not held as cell objects), so a year of
weighings is a few megabytes of memory.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from pigweight.domain import WeightRecord
from pigweight.weighing.csv_export import RU_COLUMNS, RU_COUNT_SOURCE, RU_WEIGHT_SOURCE

# The records sheet's columns, by the daily files' names: the weight's source sits by the
# count's here (the CSV keeps it last for scripts that read by position).
_RECORD_COLUMNS = [
    "timestamp",
    "camera",
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

    weighings: int = 0
    animals: int = 0
    total_kg: float = 0.0
    averages: list[float] = field(default_factory=list)

    def add(self, record: WeightRecord) -> None:
        self.weighings += 1
        self.animals += record.count
        self.total_kg += record.total_weight_kg
        self.averages.append(record.avg_weight_kg)

    def row(self) -> list[float | int | None]:
        mean = self.total_kg / self.animals if self.animals else None
        spread = None
        if len(self.averages) > 1 and statistics.fmean(self.averages) > 0:
            spread = 100 * statistics.stdev(self.averages) / statistics.fmean(self.averages)
        return [
            self.weighings,
            self.animals,
            round(self.total_kg, 3),
            None if mean is None else round(mean, 3),
            min(self.averages, default=None),
            max(self.averages, default=None),
            None if spread is None else round(spread, 1),
        ]


def workbook_bytes(records: Iterable[WeightRecord], language: str) -> bytes:
    """The .xlsx file of these records (oldest first) in `language` ("ru" or "en")."""
    text = _TEXT[language]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(text["records"])
    summary = book.create_sheet(text["summary"])
    columns = [text["columns"][name] for name in _RECORD_COLUMNS]
    _header(sheet, columns, [20, 14, 8, 16, 16, 10, 12, 10, 40, 10, 12])
    groups: dict[tuple[str, str], _Group] = {}
    everything = _Group()
    for record in records:
        when = datetime.fromisoformat(record.local_time).replace(tzinfo=None)
        sheet.append(
            [
                _dated(sheet, when, text["datetime"]),
                _text(sheet, record.camera),
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
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


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
