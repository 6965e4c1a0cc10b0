"""Reading an import file in batches, from disk, with the byte offset of every
record boundary so a restarted job resumes exactly after its last committed batch.

CSV: RFC 4180 through the ``csv`` module (any column order, quoted fields with
commas, quotes and newlines, a UTF-8 BOM tolerated). Rows are numbered as a
spreadsheet shows them: the header is row 1. NDJSON: one JSON object per line,
numbered by line. Each line is decoded on its own, so one row with invalid
UTF-8 is reported as a bad row and the rest still import; a file whose header
(or first line) is unusable fails the whole job with a reason.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

import orjson

from backroom.imports.rows import COLUMNS, RowError, Valid, validate

BOM = b"\xef\xbb\xbf"


class BadFile(Exception):
    """The file as a whole can't be imported; the message is the job's reason."""


@dataclass(slots=True)
class Batch:
    rows: list[Valid] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    records: int = 0  # valid + invalid
    end_offset: int = 0
    end_row: int = 0


class Reader(Protocol):
    def next_batch(self, size: int) -> Batch | None: ...


def open_reader(
    file: BinaryIO, fmt: str, offset: int | None = None, row: int | None = None
) -> Reader:
    if fmt == "ndjson":
        return NdjsonReader(file, offset, row)
    return CsvReader(file, offset, row)


class CsvReader:
    def __init__(self, file: BinaryIO, offset: int | None, row: int | None) -> None:
        self._file = file
        self.columns = _header(file.readline())
        self.offset = file.tell()
        self.row = 1
        if offset is not None:
            file.seek(offset)
            self.offset, self.row = offset, row or 1
        self._bad_utf8 = False
        self._records = csv.reader(self._lines(), strict=True)

    def _lines(self) -> Iterator[str]:
        """Decoded lines for the csv module; tracks the byte offset as it goes."""
        while line := self._file.readline():
            self.offset += len(line)
            try:
                yield line.decode()
            except UnicodeDecodeError:
                self._bad_utf8 = True
                yield line.decode(errors="replace")

    def next_batch(self, size: int) -> Batch | None:
        batch = Batch()
        while batch.records < size:
            self._bad_utf8 = False
            try:
                record = next(self._records)
            except StopIteration:
                break
            except csv.Error as exc:
                self.row += 1
                batch.records += 1
                batch.errors.append(RowError(self.row, None, f"malformed CSV: {exc}"))
                continue
            self.row += 1
            if not record:
                continue  # a blank line
            batch.records += 1
            self._one(record, batch)
        batch.end_offset, batch.end_row = self.offset, self.row
        return batch if batch.records or batch.errors else None

    def _one(self, record: list[str], batch: Batch) -> None:
        if self._bad_utf8:
            batch.errors.append(RowError(self.row, None, "the row is not valid UTF-8"))
        elif len(record) != len(self.columns):
            message = f"expected {len(self.columns)} fields, found {len(record)}"
            batch.errors.append(RowError(self.row, None, message))
        else:
            _keep(
                validate(self.row, dict(zip(self.columns, record, strict=True)), typed=False), batch
            )


class NdjsonReader:
    def __init__(self, file: BinaryIO, offset: int | None, row: int | None) -> None:
        self._file = file
        self.offset, self.row = 0, 0
        if offset is not None:
            file.seek(offset)
            self.offset, self.row = offset, row or 0
        else:
            _check_first_line(file)

    def next_batch(self, size: int) -> Batch | None:
        batch = Batch()
        while batch.records < size:
            line = self._file.readline()
            if not line:
                break
            self.offset += len(line)
            self.row += 1
            if not line.strip():
                continue
            batch.records += 1
            self._one(line, batch)
        batch.end_offset, batch.end_row = self.offset, self.row
        return batch if batch.records else None

    def _one(self, line: bytes, batch: Batch) -> None:
        try:
            value: Any = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            batch.errors.append(RowError(self.row, None, f"not valid JSON: {exc}"))
            return
        if not isinstance(value, dict):
            batch.errors.append(RowError(self.row, None, "must be a JSON object"))
            return
        unknown = sorted(set(value) - set(COLUMNS))
        if unknown:
            batch.errors.append(RowError(self.row, unknown[0], "unknown field"))
            return
        _keep(validate(self.row, value, typed=True), batch)


def _keep(result: Valid | RowError, batch: Batch) -> None:
    if isinstance(result, RowError):
        batch.errors.append(result)
    else:
        batch.rows.append(result)


def _header(line: bytes) -> list[str]:
    if line.startswith(BOM):
        line = line[len(BOM) :]
    if not line.strip():
        raise BadFile("the file is empty or has no header row")
    try:
        text = line.decode()
    except UnicodeDecodeError:
        raise BadFile("the file is not UTF-8 text") from None
    try:
        names = [name.strip().lower() for name in next(csv.reader([text], strict=True))]
    except csv.Error as exc:
        raise BadFile(f"the header row is not valid CSV: {exc}") from None
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise BadFile(f"unknown columns in the header: {shown}; expected {', '.join(COLUMNS)}")
    if len(set(names)) != len(names):
        raise BadFile("the header names a column twice")
    if "sku" not in names:
        raise BadFile("the header has no sku column")
    return names


def _check_first_line(file: BinaryIO) -> None:
    start = file.tell()
    first = file.readline()
    while first and not first.strip():
        first = file.readline()
    file.seek(start)
    if not first:
        raise BadFile("the file is empty")
    try:
        value = orjson.loads(first)
    except orjson.JSONDecodeError:
        raise BadFile("not NDJSON: the first line is not a JSON object") from None
    if not isinstance(value, dict):
        raise BadFile("not NDJSON: the first line is not a JSON object")
