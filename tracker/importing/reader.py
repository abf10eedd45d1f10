"""Reading an import file: UTF-8 checked line by line, CSV records with physical line numbers."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an import file, printed as `file:line: column: problem`."""

    file_order: int
    line: int
    file: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.message}"


class FileUnreadable(Exception):
    """The file cannot be read as UTF-8 CSV past this point."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class CsvFile:
    """A CSV file with an exact header, read as (line number, {column: cell}) records.

    The file is decoded one physical line at a time so that a byte that is not UTF-8 is
    reported with its line. Each record carries the physical line on which it starts
    (the header is line 1; a quoted cell may span several lines).
    """

    def __init__(self, path: str, columns: Sequence[str], file_order: int,
                 progress: Callable[[int], None] | None = None):
        self.path = path
        self.columns = tuple(columns)
        self.file_order = file_order
        self.progress = progress or (lambda n: None)
        self.last_line = 0

    @property
    def size(self) -> int:
        """Bytes on disk (for progress bars)."""
        return os.path.getsize(self.path)

    def problem(self, line: int, column: str, message: str) -> Problem:
        """A problem located in this file."""
        return Problem(self.file_order, line, self.path, column, message)

    def _lines(self) -> Iterator[str]:
        with open(self.path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                self.progress(len(raw))
                self.last_line = number
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise FileUnreadable(
                        number, f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column "
                                f"{error.start + 1}); save the file as UTF-8") from None
                if number == 1 and text.startswith("\ufeff"):
                    text = text[1:]  # a byte-order mark from a spreadsheet program
                yield text

    def header_problems(self, header: list[str]) -> list[Problem]:
        """Missing, unexpected and repeated column names (the header must match exactly)."""
        names = [name.strip() for name in header]
        problems = []
        seen = set()
        for name in names:
            if name in seen:
                problems.append(self.problem(1, name or "(empty)", "repeated column"))
            elif name not in self.columns:
                problems.append(self.problem(
                    1, name or "(empty)", "unexpected column (expected: " + ",".join(self.columns) + ")"))
            seen.add(name)
        for name in self.columns:
            if name not in seen:
                problems.append(self.problem(1, name, "missing column"))
        return problems

    def records(self, problems: list[Problem]) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield (line, cells) for each data row; file-level problems go into `problems`.

        A bad header, a row with the wrong number of cells, or bytes that are not UTF-8 are
        added to `problems`; reading stops at a bad header or undecodable bytes.
        """
        reader = csv.reader(self._lines(), strict=True)
        try:
            header = next(reader, None)
            if header is None:
                problems.append(self.problem(1, "(file)", "the file is empty; expected a header row"))
                return
            header_problems = self.header_problems(header)
            if header_problems:
                problems.extend(header_problems)
                return
            names = [name.strip() for name in header]
            previous_end = reader.line_num
            for cells in reader:
                line = previous_end + 1
                previous_end = reader.line_num
                if not cells:
                    continue  # a blank line
                if len(cells) != len(names):
                    problems.append(self.problem(
                        line, "(row)", f"expected {len(names)} cells, found {len(cells)}"))
                    continue
                yield line, dict(zip(names, cells))
        except FileUnreadable as error:
            problems.append(self.problem(error.line, "(file)", error.message))
        except csv.Error as error:
            problems.append(self.problem(max(reader.line_num, 1), "(file)", f"not valid CSV: {error}"))
