"""The line structure of a CSV export, checked on its bytes before any parser sees them.

Every CSV a centre sends goes through :func:`check_lines` (:func:`centres.raw.read_raw`, before
DuckDB reads it): one pass over the bytes in fixed-size blocks, with
numpy (no loop over lines), that counts the fields of every line outside quotes.  What it refuses:

* a line whose number of fields differs from the header's (``field_count``): pandas pads a short
  line with empty cells and a missing delimiter shifts every later value one column left (an ESR
  stored as the CRP), so such a line is never loaded; the message names the line and both counts;
* a last line cut off in the middle (``truncated_file``), a quote that is never closed
  (``malformed_csv``);
* a line longer than ``max_line_bytes`` (``Limits.max_line_bytes``, ``TDM_MAX_LINE_KB``; ``line_too_long``): no export line is that long; the
  line breaks were lost or the file is not a line-by-line export.  Refused as soon as the limit is
  passed, so memory stays bounded by one block.

Blank lines (nothing but spaces, tabs, delimiters and quotes: ``,,,`` too) hold no data and are
skipped (the parser drops them too).  Line numbers are physical lines of the file (line 1 is the first line), also when a quoted
cell holds a line break.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from base.config import DEFAULT_LIMITS
from base.errors import FileRejected

BLOCK_BYTES = 1 << 18        # 256 KB: numpy temporaries per block stay small (a 4 MB block made peak RSS grow with the file)
MAX_LISTED = 5            # bad lines named in the message


@dataclass
class _State:
    header_index: int         # 0-based record of the header
    parity: int = 0           # 1 inside a quoted field
    delims: int = 0           # delimiters outside quotes in the current (unfinished) line
    nonwhite: int = 0
    length: int = 0           # bytes of the current line so far
    start_line: int = 1       # physical line where the current line starts
    breaks: int = 0           # line-break bytes seen so far (any, quoted or not)
    quoted_break: bool = False
    records: int = 0          # finished lines (blank ones included)
    header_fields: int | None = None
    data_lines: int = 0
    bad: list[tuple[int, int]] = field(default_factory=list)    # (line, fields), the first few
    n_bad: int = 0
    bad_counts: set[int] = field(default_factory=set)           # distinct field counts of bad lines (a few)
    last_byte: int = 0        # the previous block's last byte (a "\r\n" split over two blocks)
    layout: "LineLayout | None" = None


@dataclass
class LineLayout:
    """Where the blank lines below the header are, for a reader that skips empty lines (DuckDB's).

    ``empty``: 0-based data-line positions (the line just below the header is 0) of the lines with no
    byte at all (``\n`` or ``\r\n``), which DuckDB's reader skips; ``short_blank``: a blank line that is
    not empty and has fewer fields than the header (``   `` or ``,``), which DuckDB reads only with
    ``null_padding``."""

    empty: list = field(default_factory=list)      # numpy arrays of positions, in file order
    short_blank: bool = False

    def positions(self) -> np.ndarray:
        return np.concatenate(self.empty).astype(np.int64) if self.empty else np.zeros(0, dtype=np.int64)


def utf8_blocks(data: bytes, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    view = memoryview(data)
    for i in range(0, len(data), size):
        yield view[i:i + size]


def decoded_blocks(fh, encoding: str, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """A binary file's blocks decoded incrementally and re-encoded as UTF-8 (delimiters, quotes and
    line breaks are then single bytes whatever the file's encoding).  Raises ``UnicodeDecodeError``."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    while block := fh.read(size):
        yield decoder.decode(block).encode("utf-8")
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.encode("utf-8")


def check_lines(blocks: Iterable[bytes], *, delimiter: str, quotechar: str, header_row: int, file_name: str,
                newline: str = "\n", max_line_bytes: int = DEFAULT_LIMITS.max_line_bytes,
                layout: LineLayout | None = None) -> int:
    """Refuse a file whose lines do not all have the header's number of fields (module docstring).

    ``blocks``: the file's text as UTF-8 bytes, in order; ``header_row``: the 1-based line
    (record) of the header; lines before it are not checked.  Returns the header's field count; fills
    ``layout`` (if given) with the blank lines below the header."""
    limit = max_line_bytes
    d, q, nl = ord(delimiter), ord(quotechar), ord(newline)
    st = _State(header_index=header_row - 1, layout=layout)
    for block in blocks:
        arr = np.frombuffer(block, dtype=np.uint8)
        if not len(arr):
            continue
        is_q = arr == q
        if st.parity or is_q.any():
            par = np.bitwise_xor.accumulate(is_q.view(np.uint8)) ^ np.uint8(st.parity)
            outside = par == 0
            parity = int(par[-1])
            breaks = np.flatnonzero(arr == nl)
            ends = breaks[outside[breaks]]
            delims = np.flatnonzero((arr == d) & outside)
        else:                                   # no quote in the block: every byte is outside quotes
            parity = 0
            breaks = ends = np.flatnonzero(arr == nl)
            delims = np.flatnonzero(arr == d)
        # data bytes: not a space, tab, line break, control byte, delimiter or quote (',,,' is a blank line)
        solid = np.flatnonzero((arr > 32) & (arr != d) & ~is_q)
        n = len(arr)
        if len(ends):
            cut = ends + 1
            dl = np.diff(np.searchsorted(delims, cut), prepend=0)
            nw = np.diff(np.searchsorted(solid, cut), prepend=0)
            br = np.searchsorted(breaks, cut)            # breaks up to and including each line's end
            ln = np.diff(ends, prepend=-1)
            start = st.breaks + np.concatenate(([0], br[:-1])) + 1
            start[0] = st.start_line
            quoted_br = np.diff(br, prepend=0) - 1 > 0   # line breaks inside the line's quotes
            quoted_br[0] |= st.quoted_break
            dl[0] += st.delims
            nw[0] += st.nonwhite
            ln[0] += st.length
            before = np.where(ends > 0, arr[np.maximum(ends - 1, 0)], st.last_byte)
            empty = (ln == 1) | ((ln == 2) & (before == 13))
            _finish_lines(st, dl + 1, nw, ln, start, quoted_br, limit, file_name, empty)
            last = int(cut[-1])
            st.delims = int(len(delims) - np.searchsorted(delims, last))
            st.nonwhite = int(len(solid) - np.searchsorted(solid, last))
            st.length = n - last
            st.start_line = int(st.breaks + br[-1] + 1)
            st.quoted_break = bool(len(breaks) - br[-1] > 0)
        else:
            st.delims += len(delims)
            st.nonwhite += len(solid)
            st.length += n
            st.quoted_break |= bool(len(breaks))
        st.breaks += len(breaks)
        st.parity = parity
        st.last_byte = int(arr[-1])
        if st.length > limit:
            _too_long(st.start_line, st.length, st.quoted_break, limit, file_name)
    if st.parity:
        raise FileRejected(f"a quote ({quotechar}) opened on line {st.start_line} is never closed", code="malformed_csv",
                           file=file_name, line=st.start_line,
                           hint="close the quote, or remove the stray quote character from the value")
    if st.length and st.nonwhite:      # a last line without a final line break
        fields = st.delims + 1
        if st.header_fields is not None and fields < st.header_fields and st.records >= header_row:
            raise FileRejected(
                f"the file ends in the middle of line {st.start_line} ({fields} of {st.header_fields} fields, no final "
                "line break): it looks truncated", code="truncated_file", file=file_name, line=st.start_line,
                hint="the export or the copy was interrupted: export the file again and send it whole")
        _finish_lines(st, np.array([fields]), np.array([st.nonwhite]), np.array([st.length]),
                      np.array([st.start_line]), np.array([st.quoted_break]), limit, file_name, np.array([False]))
    if st.n_bad:
        _report(st, file_name)
    return st.header_fields or 0


def _finish_lines(st: _State, fields, nonwhite, length, start, quoted_break, limit: int, file_name: str,
                  empty) -> None:
    """Account for finished lines (arrays, one entry per line): header, length limit, field counts."""
    long = np.flatnonzero(length > limit)
    if len(long):
        i = long[0]
        _too_long(int(start[i]), int(length[i]), bool(quoted_break[i]), limit, file_name)
    idx = np.arange(st.records, st.records + len(fields))
    st.records += len(fields)
    if st.header_fields is None:
        hit = np.flatnonzero(idx == st.header_index)
        if not len(hit):
            return
        st.header_fields = int(fields[hit[0]])
    data = (idx > st.header_index) & (nonwhite > 0)
    if st.layout is not None:
        below = idx > st.header_index
        if (below & empty).any():
            st.layout.empty.append(idx[below & empty] - st.header_index - 1)
        if not st.layout.short_blank:
            st.layout.short_blank = bool((below & ~empty & (nonwhite == 0) & (fields < st.header_fields)).any())
    st.data_lines += int(data.sum())
    bad = np.flatnonzero(data & (fields != st.header_fields))
    if not len(bad):
        return
    st.n_bad += len(bad)
    if len(st.bad_counts) < 3:
        st.bad_counts.update(int(x) for x in np.unique(fields[bad])[:3])
    for i in bad[: MAX_LISTED - len(st.bad)]:
        st.bad.append((int(start[i]), int(fields[i])))


def _too_long(line: int, length: int, quoted_break: bool, limit: int, file_name: str) -> None:
    if quoted_break:
        raise FileRejected(
            f"a quoted value starting on line {line} runs on for more than {limit // 1024:,} KB: its closing quote "
            "is probably missing", code="malformed_csv", file=file_name, line=line,
            hint="close the quote, or remove the stray quote character from the value")
    raise FileRejected(
        f"line {line} is longer than {limit // 1024:,} KB ({length:,} bytes so far) without a line break: no export line "
        "is that long; the line breaks were lost, or the file is not a line-by-line CSV export",
        code="line_too_long", file=file_name, line=line,
        hint="export the data again as CSV, one record per line (check the export's line-ending setting)")


def _report(st: _State, file_name: str) -> None:
    n = st.header_fields
    line, fields = st.bad[0]
    header_line = st.header_index + 1
    if st.n_bad == st.data_lines >= 2 and len(st.bad_counts) == 1:
        raise FileRejected(
            f"the header (line {header_line}) has {n} field(s) but every line below it has {fields}: the header is "
            "not the file's real header (a title, a 'sep=' line or a group-header row above it?)", code="field_count",
            file=file_name, line=header_line,
            hint="delete the lines above the real header (or set header_row in the centre profile) and send the file "
                 "again")
    listed = ", ".join(f"line {ln} has {k}" for ln, k in st.bad[1:])
    more = f" (also {listed}" + (f" and {st.n_bad - len(st.bad)} more)" if st.n_bad > len(st.bad) else ")") \
        if st.n_bad > 1 else ""
    raise FileRejected(
        f"line {line} has {fields} fields, the header {n}{more}: a line with a missing or extra delimiter would load "
        "its values under the wrong columns, so the file was not loaded", code="field_count", file=file_name, line=line,
        hint="every line must have exactly the header's number of fields: quote values that contain the delimiter, "
             "restore missing (empty) fields, and export the file again")
