"""A cheap nesting-depth pre-scan of YAML text, run before the YAML parser.

ruamel's pure-Python scanner is quadratic on deep flow collections (50,000 `[` take minutes),
so a hostile file must be refused from its text alone. The scan under-counts rather than
over-counts: whatever it lets through is checked again, exactly, after parsing.
"""

from __future__ import annotations

import re

_FLOW = re.compile(r"""[\[\]{}"'#]""")
_COLON = re.compile(r"\s*:(?=\s|$)")
_KEY_OR_COMMENT = re.compile(r":(?=\s|$)|\s#")


class _TooDeep(Exception):
    pass


class _Scan:
    """Line-by-line state: open block collections (their columns), open flow brackets, quotes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.stack: list[int] = []     # columns of the open block collections
        self.flow = 0                  # open [ and {
        self.quote = ""                # the quote of a quoted scalar still open at the end of a line
        self.text_above: int | None = None  # lines indented past this column are block-scalar text
        self.plain = False             # the last line ended inside a plain scalar (may continue)

    def _push(self, col: int) -> None:
        if not self.stack or col > self.stack[-1]:
            self.stack.append(col)
            self._check()

    def _check(self) -> None:
        if len(self.stack) + self.flow > self.limit:
            raise _TooDeep

    def line(self, s: str) -> None:
        """Account for one line (without its newline)."""
        if self.quote or self.flow:
            self._inline(s, 0)
            return
        body = s.lstrip(" ")
        indent = len(s) - len(body)
        if self.text_above is not None:
            if not body.strip() or indent > self.text_above:
                return
            self.text_above = None
        if not body.strip() or body.startswith(("#", "%")):
            return
        if body.startswith(("---", "...")) and body[3:4] in ("", " ", "\t"):
            self.stack.clear()
            self.plain = False
            self._node(s, indent + 3)
            return
        popped = False
        while self.stack and self.stack[-1] > indent:
            self.stack.pop()
            popped = True
        if self.stack and self.stack[-1] < indent and self.plain and not popped:
            return  # a multi-line plain scalar goes on
        self.plain = False  # a key or `- ` below opens a block collection at its column
        self._node(s, indent)

    def _node(self, s: str, pos: int) -> None:
        """Read the block-context node(s) starting at `pos`: markers, keys, then one value."""
        n = len(s)
        while True:
            while pos < n and s[pos] in " \t":
                pos += 1
            if pos >= n:
                return
            c = s[pos]
            if c in "-?:" and (pos + 1 == n or s[pos + 1] in " \t"):
                if c != ":":
                    self._push(pos)
                pos += 1
            elif c in "&!":  # anchor or tag: the node itself follows
                while pos < n and s[pos] not in " \t":
                    pos += 1
            elif c in "|>":
                self.text_above = self.stack[-1] if self.stack else -1
                return
            elif c == "#" or c == "*":
                return
            elif c in "[{\"'":
                if c in "\"'":
                    self.quote, pos = c, pos + 1
                pos = self._inline(s, pos)
                if self.quote or self.flow:
                    return
                m = _COLON.match(s, pos)
                if not m:
                    return
                pos = m.end()
            else:
                m = _KEY_OR_COMMENT.search(s, pos)
                if not m or m.group() != ":":
                    self.plain = True
                    return
                self._push(pos)
                pos = m.end()

    def _inline(self, s: str, pos: int) -> int:
        """Scan quotes and flow brackets from `pos`; return where both are closed (or the line's end)."""
        n = len(s)
        while pos < n:
            if self.quote:
                pos = self._close_quote(s, pos)
                if self.quote or not self.flow:
                    return pos
                continue
            m = _FLOW.search(s, pos)
            if not m:
                return n
            c, at, pos = m.group(), m.start(), m.end()
            if c in "[{":
                self.flow += 1
                self._check()
            elif c in "]}":
                self.flow = max(0, self.flow - 1)
                if not self.flow:
                    return pos
            elif c == "#":
                if at == 0 or s[at - 1] in " \t":
                    return n
            elif _token_start(s, at):
                self.quote = c
        return n

    def _close_quote(self, s: str, pos: int) -> int:
        """Past the closing quote (clearing `quote`), or the line's end if it stays open."""
        start = pos
        while True:
            k = s.find(self.quote, pos)
            if k < 0:
                return len(s)
            if self.quote == "'" and s.startswith("''", k):
                pos = k + 2
                continue
            slashes = 0
            while self.quote == '"' and k - slashes > start and s[k - slashes - 1] == "\\":
                slashes += 1
            if slashes % 2:
                pos = k + 1
                continue
            self.quote = ""
            return k + 1


def _token_start(s: str, at: int) -> bool:
    """A quote opens a quoted scalar only where a token may start (not inside a plain word)."""
    k = at - 1
    while k >= 0 and s[k] in " \t":
        k -= 1
    return k < 0 or s[k] in "[{,:-?"


def too_deep_at(text: str, limit: int) -> int | None:
    """1-based line where `text` first nests more than `limit` mappings/lists, or None."""
    scan = _Scan(limit)
    for number, line in enumerate(text.splitlines(), 1):
        try:
            scan.line(line)
        except _TooDeep:
            return number
    return None
