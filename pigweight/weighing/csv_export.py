"""The daily CSV `RECORDS_DIR/weight_avg_YYYYMMDD.csv`: what the farm's spreadsheets read.

The database is the truth; each file is an export of one local day's active records, oldest
first. A new record appends one line, flushed and fsync'ed before the API answers; a
correction or deletion rewrites its day's file (write aside, fsync, rename). At start every
file within retention is compared with what the database says and rebuilt when it differs
(lost, truncated by a power cut, or edited: an edited file is kept beside it as `.edited`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

from pigweight.domain import WeightRecord
from pigweight.durable import fsync_dir, replace_file, write_all

logger = logging.getLogger(__name__)

HEADER = [
    "timestamp",
    "camera",
    "count",
    "total_weight_kg",
    "avg_weight_kg",
    "count_source",
    "confidence",
    "note",
    "record_id",
    "corrects_record_id",
    "weight_source",  # added later, so at the end: spreadsheets that read by position still work
]
# A download (GET /api/weight/records.csv) adds the batch's name after the daily columns;
# the daily files keep theirs (scripts read them).
EXPORT_HEADER = [*HEADER, "batch"]
# The columns of files written before weight_source: such a file is rewritten, not "edited".
LEGACY_HEADERS = (HEADER[:-1],)
_FILE_NAME = re.compile(r"^weight_avg_(\d{8})\.csv$")
# OWASP CSV injection: a spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel cuts a line on its locale's list separator (`,` in English, `;` in Russian, a tab
# when pasted) and honours a double quote only where it opens a piece, so `"x;=1+1"` is
# `"x` and `=1+1` to a Russian Excel. A formula character that starts any piece (after
# spaces or quotes) gets an apostrophe, which makes the piece text.
_SEPARATORS = ",;\t\r\n"
_PIECE_FORMULA = re.compile(r'(^|[,;\t\r\n])([ "]*)([=+\-@])')
# A cell holding any of these is quoted, so that no locale's reader cuts it.
_QUOTE_IF = _SEPARATORS + '"'


def file_name(local_date: str) -> str:
    """weight_avg_YYYYMMDD.csv for a YYYYMMDD local date."""
    return f"weight_avg_{local_date}.csv"


def safe_text(value: str) -> str:
    """A text cell a spreadsheet shows as text in any locale: every formula start, of the
    cell or of a piece after a separator, gets an apostrophe."""
    text = _PIECE_FORMULA.sub(r"\1\2'\3", value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def format_kg(value: float) -> str:
    """A weight as a plain number with at most 3 decimals: 412.5, 13.75, 7."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def row_of(record: WeightRecord) -> list[str]:
    """The CSV cells of one record, in HEADER's order."""
    return [
        record.local_time[:19].replace("T", " "),  # local wall time, as spreadsheets parse it
        safe_text(record.camera),
        str(record.count),
        format_kg(record.total_weight_kg),
        format_kg(record.avg_weight_kg),
        record.count_source,
        "" if record.confidence is None else f"{record.confidence:.3f}",
        safe_text(record.note),
        str(record.id),
        "" if record.corrects_id is None else str(record.corrects_id),
        record.weight_source,
    ]


def export_row(record: WeightRecord) -> list[str]:
    """The cells of one record in a download, in EXPORT_HEADER's order."""
    return [*row_of(record), safe_text(record.batch_name or "")]


def render(rows: Iterable[list[str]], header: bool = True, columns: list[str] = HEADER) -> bytes:
    """CSV bytes (UTF-8, CRLF line ends as RFC 4180 and Excel expect)."""
    lines = [columns] if header else []
    lines.extend(row[: len(columns)] for row in rows)
    return "".join(",".join(map(_cell, line)) + "\r\n" for line in lines).encode("utf-8")


# `GET /api/weight/records.csv?dialect=excel-ru`: what a Russian Excel opens by a double
# click: `;` between cells, decimal commas, Russian headers and words, dates as dd.mm.yyyy,
# and a UTF-8 byte order mark (without it Excel reads the file as cp1251: mojibake).
# A record's columns in Russian, by the daily files' column names: the Russian CSV and the
# Excel workbook (xlsx_export.py) say the same.
RU_COLUMNS = {
    "timestamp": "Дата и время",
    "camera": "Камера",
    "count": "Голов",
    "total_weight_kg": "Общий вес, кг",
    "avg_weight_kg": "Средний вес, кг",
    "count_source": "Счёт",
    "confidence": "Уверенность счёта",
    "note": "Примечание",
    "record_id": "Запись №",
    "corrects_record_id": "Исправляет запись №",
    "weight_source": "Вес",
    "batch": "Партия",
}
RU_COUNT_SOURCE = {"auto": "камера", "manual": "вручную"}
RU_WEIGHT_SOURCE = {"scale": "с весов", "manual": "вручную"}
EXCEL_RU_HEADER = [RU_COLUMNS[name] for name in EXPORT_HEADER]


def excel_ru_row(record: WeightRecord) -> list[str]:
    """The cells of one record for a Russian Excel, in EXCEL_RU_HEADER's order."""
    day, _, clock = record.local_time[:19].partition("T")
    year, month, date_ = day.split("-")

    def number(text: str) -> str:
        return text.replace(".", ",")

    return [
        f"{date_}.{month}.{year} {clock}",
        safe_text(record.camera),
        str(record.count),
        number(format_kg(record.total_weight_kg)),
        number(format_kg(record.avg_weight_kg)),
        RU_COUNT_SOURCE.get(record.count_source, record.count_source),
        "" if record.confidence is None else number(f"{record.confidence:.3f}"),
        safe_text(record.note),
        str(record.id),
        "" if record.corrects_id is None else str(record.corrects_id),
        RU_WEIGHT_SOURCE.get(record.weight_source, record.weight_source),
        safe_text(record.batch_name or ""),
    ]


def render_excel_ru(records: Iterable[WeightRecord]) -> bytes:
    """CSV bytes for a Russian Excel: BOM, `;`, CRLF."""
    lines = [EXCEL_RU_HEADER, *(excel_ru_row(r) for r in records)]
    text = "".join(";".join(map(_cell, line)) + "\r\n" for line in lines)
    return b"\xef\xbb\xbf" + text.encode("utf-8")


def _cell(value: str) -> str:
    # RFC 4180 quoting, widened from `,` to every common locale's separator: the csv
    # module leaves `x;y` bare, which a `;` Excel cuts in two.
    if any(c in value for c in _QUOTE_IF):
        return '"' + value.replace('"', '""') + '"'
    return value


def day_file_bytes(records: Iterable[WeightRecord], columns: list[str] = HEADER) -> bytes:
    """The whole file of a day: header and one line per active record."""
    return render((row_of(r) for r in records), columns=columns)


class DailyCsv:
    """The files of RECORDS_DIR; the caller serialises writes (one writer)."""

    def __init__(self, records_dir: Path) -> None:
        self.dir = Path(records_dir)

    def path(self, local_date: str) -> Path:
        return self.dir / file_name(local_date)

    def append(self, record: WeightRecord) -> None:
        """Append a record's line (the header first for a new file), durable on return."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.path(record.local_date)
        new = not path.exists() or path.stat().st_size == 0
        data = render([row_of(record)], header=new)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            write_all(fd, data)  # O_APPEND: each line lands whole at the end
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            fsync_dir(self.dir)

    def rewrite(self, local_date: str, records: list[WeightRecord]) -> None:
        """Replace a day's file with exactly these records, atomically."""
        self._replace(self.path(local_date), day_file_bytes(records))

    def reconcile(self, local_date: str, records: list[WeightRecord]) -> bool:
        """Rebuild a day's file if it differs from the database; True if it was rebuilt."""
        path = self.path(local_date)
        expected = day_file_bytes(records)
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        if current == expected:
            return False
        if current is None:
            logger.warning("records: %s was missing, rebuilt from the database", path.name)
        elif any(current == day_file_bytes(records, list(old)) for old in LEGACY_HEADERS):
            logger.info("records: %s rewritten with the new columns", path.name)
        elif expected.startswith(current):
            logger.warning("records: %s was cut short, rebuilt from the database", path.name)
        else:
            edited = path.with_suffix(".csv.edited")
            if edited.exists():  # an earlier edit is kept too
                edited = path.with_suffix(f".csv.edited-{path.stat().st_mtime_ns}")
            os.replace(path, edited)
            logger.warning(
                "records: %s differed from the database; rebuilt, the old file kept as %s",
                path.name,
                edited.name,
            )
        self._replace(path, expected)
        return True

    def dates(self) -> list[str]:
        """YYYYMMDD of every daily file present."""
        if not self.dir.is_dir():
            return []
        found = (_FILE_NAME.match(p.name) for p in self.dir.iterdir())
        return sorted(m.group(1) for m in found if m)

    def remove_older_than(self, first_kept: str) -> list[str]:
        """Delete the daily files dated before first_kept (YYYYMMDD); returns their names."""
        removed = []
        for local_date in self.dates():
            if local_date < first_kept:
                self.path(local_date).unlink(missing_ok=True)
                removed.append(file_name(local_date))
        return removed

    def _replace(self, path: Path, data: bytes) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        replace_file(path, data)


def first_kept_date(today: date, retention_days: int) -> str:
    """YYYYMMDD of the oldest daily file kept: files more than retention_days old go."""
    return (today - timedelta(days=retention_days)).strftime("%Y%m%d")
