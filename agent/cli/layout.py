"""Result tables that fit the output they are printed to, with no name ever cut.

In a terminal a table takes the terminal's width; piped, the width `COLUMNS` names, and with no
`COLUMNS` it prints as plain TSV (a `# title` line, a header row, tab-separated rows) for
`cut`, `awk` or a spreadsheet. To fit a width, in this order:

1. headers wrap between words;
2. columns of names that have a short form show it (models: `rf`, `lgbm`, `logit`, the
   aliases `train` accepts; see `short_model_name`), and the table's caption says which;
3. columns are left out, lowest priority first, and the caption names them.

Cells never wrap or end in "..." unless their column is free text (`wrap=True`), which wraps
between words. `--json` is the machine-readable form with every field.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Literal

from rich.segment import Segment
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

# A column with this priority is never left out.
KEEP = 1_000
# Borders and padding: one space either side of each cell and a rule between columns; no outer
# frame, whose two columns a name can use.
_PER_COLUMN = 3
_EDGES = -1
# In a free-text column a word longer than this (a hash, a JSON blob) folds onto more lines
# instead of widening the column.
_LONGEST_UNFOLDED_WORD = 24


@cache
def short_model_name(name: str) -> str:
    """The short form of a registered model's name: the name itself when it has at most five
    characters (svm, knn, mlp, lstm, ridge), else the first of its aliases that is one word and
    shorter (random_forest -> rf, lightgbm -> lgbm, logistic_regression -> logit; `train`
    accepts them too). A name the registry does not know stays as it is."""
    from mltrainer.engine.errors import ConfigError
    from mltrainer.engine.models import resolve_model

    if len(name) <= 5:
        return name
    try:
        spec = resolve_model(name)
    except ConfigError:
        return name
    shorter = (a for a in spec.aliases if " " not in a and len(a) < len(spec.name))
    return next(shorter, spec.name)


@dataclass(frozen=True)
class Column:
    header: str
    justify: Literal["left", "right"] = "left"
    priority: int = KEEP
    wrap: bool = False
    short: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Layout:
    """How a table prints at one width: which columns, whether short names, and their widths."""

    columns: tuple[int, ...]
    shortened: bool
    widths: tuple[int, ...]
    left_out: tuple[str, ...]


@dataclass
class FittedTable:
    """A table built like a rich `Table` (`add_column`, `add_row`) that lays itself out for
    the width it is printed at (see the module docstring). Cells may hold rich markup.

    `stacked`: when the columns that are kept still do not fit (a column per trial), print
    them as several tables one under the other, each repeating the first column."""

    title: str | None = None
    show_header: bool = True
    caption: str | None = None
    stacked: bool = False
    columns: list[Column] = field(default_factory=list)
    rows: list[tuple[str, ...]] = field(default_factory=list)

    def add_column(
        self,
        header: str,
        *,
        justify: Literal["left", "right"] = "left",
        priority: int = KEEP,
        wrap: bool = False,
        short: Callable[[str], str] | None = None,
    ) -> None:
        """`priority`: columns are left out lowest first when the table is too wide (`KEEP`:
        never); `wrap`: free text that may wrap between words; `short`: a cell's short form."""
        self.columns.append(Column(header, justify, priority, wrap, short))

    def add_row(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"a row of {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(tuple(cells))

    # -- laying out ------------------------------------------------------------------------
    def cell(self, row: Sequence[str], index: int, shortened: bool) -> str:
        column = self.columns[index]
        text = row[index]
        if shortened and column.short is not None:
            return column.short(Text.from_markup(text).plain)
        return text

    def _natural_cells(self, index: int, shortened: bool) -> int:
        return max([_width(self.cell(row, index, shortened)) for row in self.rows] + [1])

    def _natural(self, index: int, shortened: bool) -> int:
        header = len(self.columns[index].header) if self.show_header else 0
        return max(header, self._natural_cells(index, shortened))

    def _narrowest(self, index: int, shortened: bool) -> int:
        column = self.columns[index]
        header = _longest_word(column.header) if self.show_header else 0
        if column.wrap:
            words = [_longest_word(Text.from_markup(row[index]).plain) for row in self.rows]
            return max(header, min(max([*words, 1]), _LONGEST_UNFOLDED_WORD))
        return max([header, *(_width(self.cell(row, index, shortened)) for row in self.rows), 1])

    def layout(self, width: int) -> list[Layout]:
        """The widest form of this table that fits `width` character cells: one layout, or
        several stacked ones."""
        every = tuple(range(len(self.columns)))
        shortening = any(c.short is not None for c in self.columns)
        for shortened in (False, True) if shortening else (False,):
            if self._fits(every, shortened, width):
                return [self._widened(every, shortened, width, ())]
        shown = list(every)
        left_out: list[str] = []
        # Lowest priority first; of equal ones, the rightmost.
        for index in sorted(every, key=lambda i: (self.columns[i].priority, -i)):
            if self._fits(shown, shortening, width) or self.columns[index].priority >= KEEP:
                break
            shown.remove(index)
            left_out.append(self.columns[index].header)
        if self.stacked and not self._fits(shown, shortening, width):
            return self._stacks(shown, shortening, width, tuple(left_out))
        return [self._widened(tuple(shown), shortening, width, tuple(left_out))]

    def _fits(self, shown: Sequence[int], shortened: bool, width: int) -> bool:
        return _total(self._narrowest(i, shortened) for i in shown) <= width

    def _stacks(
        self, shown: list[int], shortened: bool, width: int, left_out: tuple[str, ...]
    ) -> list[Layout]:
        first, rest = shown[0], shown[1:]
        stacks: list[list[int]] = [[first]]
        for index in rest:
            if len(stacks[-1]) > 1 and not self._fits([*stacks[-1], index], shortened, width):
                stacks.append([first])
            stacks[-1].append(index)
        return [self._widened(tuple(stack), shortened, width, left_out) for stack in stacks]

    def _widened(
        self, shown: tuple[int, ...], shortened: bool, width: int, left_out: tuple[str, ...]
    ) -> Layout:
        """Start from the narrowest widths and give what room is left to the columns that want
        more, left to right: free text on fewer lines first (a wrapped cell costs a line in its
        row), then headers on one line."""
        widths = {i: self._narrowest(i, shortened) for i in shown}
        room = width - _total(widths.values())
        for natural in (self._natural_cells, self._natural):
            for i in shown:
                grant = max(0, min(natural(i, shortened) - widths[i], room))
                widths[i] += grant
                room -= grant
        return Layout(shown, shortened, tuple(widths[i] for i in shown), left_out)

    # -- printing -------------------------------------------------------------------------
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = output_width(console, options.max_width)
        if width is None:
            # Segments, not Text: rich would turn the tabs into spaces.
            yield from (Segment(line + "\n") for line in self.tsv_lines())
            return
        layouts = self.layout(width)
        for number, layout in enumerate(layouts, start=1):
            yield self.rich_table(layout, part=(number, len(layouts)))

    def rich_table(self, layout: Layout, *, part: tuple[int, int] = (1, 1)) -> Table:
        """`layout` as a rich table; `part` is its place among stacked ones (the title says
        "1 of 2", the caption goes under the last)."""
        number, parts = part
        title = (
            self.title
            if parts == 1 or self.title is None
            else f"{self.title} ({number} of {parts})"
        )
        captions = [self.caption] if self.caption and number == parts else []
        if layout.shortened and number == parts:
            captions.append("short model names: " + self._short_names())
        if layout.left_out and number == parts:
            captions.append(
                f"left out to fit the width: {', '.join(layout.left_out)} (a wider terminal "
                "or --json shows them)"
            )
        table = Table(
            title=title,
            caption="\n".join(captions) or None,
            show_header=self.show_header,
            show_edge=False,
            caption_justify="left",
        )
        for index, width in zip(layout.columns, layout.widths, strict=True):
            column = self.columns[index]
            table.add_column(
                "\n".join(textwrap.wrap(column.header, width)) or column.header,
                justify=column.justify,
                width=width,
                no_wrap=not column.wrap,
                overflow="fold",
            )
        for row in self.rows:
            table.add_row(*(self.cell(row, i, layout.shortened) for i in layout.columns))
        return table

    def _short_names(self) -> str:
        pairs: dict[str, str] = {}
        for index, column in enumerate(self.columns):
            if column.short is None:
                continue
            for row in self.rows:
                plain = Text.from_markup(row[index]).plain
                if column.short(plain) != plain:
                    pairs[column.short(plain)] = plain
        return ", ".join(f"{short} = {name}" for short, name in sorted(pairs.items())) or "-"

    def tsv_lines(self) -> list[str]:
        lines = [f"# {self.title}"] if self.title else []
        if self.show_header:
            lines.append("\t".join(_tsv(c.header) for c in self.columns))
        for row in self.rows:
            lines.append("\t".join(_tsv(Text.from_markup(cell).plain) for cell in row))
        return lines


def output_width(console: Console, available: int) -> int | None:
    """The width tables fit: a terminal's own; piped, `COLUMNS` when it is set; else None (plain
    TSV)."""
    if console.is_terminal:
        return available
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def _total(widths: Iterable[int]) -> int:
    listed = list(widths)
    return sum(listed) + _PER_COLUMN * len(listed) + _EDGES


def _width(cell: str) -> int:
    return max((Text.from_markup(line).cell_len for line in cell.splitlines()), default=0)


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def _tsv(text: str) -> str:
    return " ".join(text.split())
