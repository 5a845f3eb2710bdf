"""Load rules/*.yaml (YAML 1.2 via ruamel) and report every problem as `path:line: message`."""

from __future__ import annotations

import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from bot.catalog import Catalog
from bot.rules.kinds import KINDS
from bot.rules.model import Rule
from bot.rules.nesting import too_deep_at

MAX_FILE_BYTES = 1_000_000   # a rules file larger than this is refused unread
MAX_NODES = 200_000          # YAML nodes after aliases are followed ("billion laughs" stops here)
MAX_DEPTH = 64               # nesting of mappings and lists

PLACEHOLDERS = {"value", "threshold", "clear", "date", "metric", "label", "rule", "from", "to", "basis",
                "window", "severity", "topic", "multiple", "median", "age", "amount", "change", "previous"}
_FIELD = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class RuleProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class LoadedRules:
    rules: list[Rule]
    problems: list[RuleProblem]
    files: list[Path]

    @property
    def ok(self) -> bool:
        return not self.problems


class _PlainConstructor(RoundTripConstructor):
    """Round-trip constructor that refuses tags it does not know (`!!python/object`, `!foo`)
    instead of wrapping them in objects the rule model cannot read."""

    def construct_unknown(self, node: Any) -> Any:
        if node.tag in self.yaml_constructors:  # YAML's own tags written out (`!!str x`)
            return super().construct_unknown(node)
        shown = str(node.tag).replace("tag:yaml.org,2002:", "!!")
        raise ConstructorError(None, None, f"tag {shown} is not allowed in rules files", node.start_mark)


_PlainConstructor.add_constructor(None, _PlainConstructor.construct_unknown)


def _parse(text: str) -> Any:
    """The round-trip YAML tree of `text`, with only YAML's own tags."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _PlainConstructor
    return yaml.load(text)


class TooBig(ValueError):
    """A document that expands past MAX_NODES or nests past MAX_DEPTH."""


def _plain(node: Any, budget: list[int] | None = None, depth: int = 0) -> Any:
    """ruamel's commented containers and scalar subclasses -> plain dict / list / float / str,
    counting nodes so that aliases cannot expand a small file into gigabytes."""
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise TooBig(f"more than {MAX_NODES:,} values once aliases are expanded")
    if depth > MAX_DEPTH:
        raise TooBig(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, dict):
        return {str(k): _plain(v, budget, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v, budget, depth + 1) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def line_of(root: Any, loc: tuple[Any, ...]) -> int:
    """1-based line of the deepest node `loc` reaches in a round-trip YAML tree."""
    node, line = root, 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            where = node.lc.key(part)
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            where = node.lc.item(part)
        else:
            break
        if not where:  # a node built without marks: the enclosing line will do
            break
        line, node = where[0] + 1, node[part]
    return line


def rule_files(target: str | Path) -> list[Path]:
    """A rules directory's *.yaml / *.yml files (sorted), or the one file given."""
    p = Path(target)
    if p.is_dir():
        return sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
    return [p]


def _unreadable(path: Path) -> str | None:
    """Why a path cannot be read as a rules file (a FIFO would block forever), or None."""
    try:
        st = path.stat()
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (skipped)"
    if st.st_size > MAX_FILE_BYTES:
        return f"{st.st_size:,} bytes: rules files are limited to {MAX_FILE_BYTES:,} bytes"
    return None


def _describe(err: dict[str, Any]) -> str:
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if err["type"] == "extra_forbidden":
        if len(err["loc"]) == 2 and err["loc"][0] == "condition":
            return f"unknown condition kind {err['loc'][-1]!r} (known: {', '.join(KINDS)})"
        return f"unknown field {err['loc'][-1]!r}"
    if err["type"] == "missing":
        return f"missing field {err['loc'][-1]!r}"
    field = ".".join(str(x) for x in err["loc"] if not isinstance(x, int))
    return f"{field}: {msg}"


def _semantic(rule: Rule, catalog: Catalog) -> list[tuple[tuple[Any, ...], str]]:
    """Checks pydantic cannot do alone: metric names, units, templates, clear direction."""
    out: list[tuple[tuple[Any, ...], str]] = []
    cond = rule.condition
    base = ("condition", cond.kind)
    for key in ("metric", "a", "b"):
        name = getattr(cond.body, key, None)
        if isinstance(name, str) and name not in catalog.metrics:
            wrong: str = name
            close = sorted(catalog.metrics, key=lambda m: -_similar(m, wrong))[:3]
            out.append(((*base, key), f"unknown metric {name!r} (did you mean {', '.join(close)}?)"))
    if not out:  # the kind's own checks read the catalog's entries for its metrics
        out.extend(((*base, *loc), msg) for loc, msg in rule.kind.problems(catalog))
    for key in ("message", "resolved_message", "message_zh", "resolved_message_zh"):
        text = getattr(rule, key)
        for name in _FIELD.findall(text or ""):
            if name not in PLACEHOLDERS:
                out.append(((key,), f"unknown placeholder {{{name}}} (known: {', '.join(sorted(PLACEHOLDERS))})"))
    op = getattr(cond.body, "op", None)
    if rule.clear is not None and op:
        wrong = rule.clear < cond.body.value if op in ("<", "<=") else rule.clear > cond.body.value
        if wrong:
            out.append((("clear",), f"clear {rule.clear:g} is on the firing side of {op} {cond.body.value:g}: "
                                    "it must be past the threshold in the recovery direction"))
    return out


def _similar(a: str, b: str) -> float:
    from difflib import SequenceMatcher

    return SequenceMatcher(None, a, b).ratio()


def load_file(path: Path, catalog: Catalog) -> tuple[list[Rule], list[RuleProblem]]:
    """Parse one rules file; return its valid rules and every problem found in it."""
    rules, problems, _ = _load_file(path, catalog)
    return rules, problems


def _load_file(path: Path, catalog: Catalog) -> tuple[list[Rule], list[RuleProblem], list[int]]:
    """load_file, plus the line of each valid rule (to report duplicates where they are)."""
    shown = str(path)
    why = _unreadable(path)
    if why:
        return [], [RuleProblem(shown, 1, why)], []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [RuleProblem(shown, 1, f"cannot read: {exc}")], []
    deep_line = too_deep_at(text, MAX_DEPTH + 3)  # + the document, its `rules` list and the rule itself
    if deep_line:
        return [], [RuleProblem(shown, deep_line, f"nested deeper than {MAX_DEPTH} levels")], []
    try:
        root = _parse(text)
    except ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        return [], [RuleProblem(shown, (mark.line + 1) if mark else 1, str(exc.problem))], []
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return [], [RuleProblem(shown, (mark.line + 1) if mark else 1, f"YAML syntax: {exc.problem or exc}")], []
    except YAMLError as exc:
        return [], [RuleProblem(shown, 1, f"YAML: {exc}")], []
    except RecursionError:
        return [], [RuleProblem(shown, 1, f"nested deeper than {MAX_DEPTH} levels")], []
    if not isinstance(root, CommentedMap) or "rules" not in root:
        return [], [RuleProblem(shown, 1, "expected a mapping with a `rules:` list")], []
    rules: list[Rule] = []
    problems: list[RuleProblem] = []
    lines: list[int] = []
    items = root["rules"] if isinstance(root["rules"], CommentedSeq) else None
    if items is None:
        return [], [RuleProblem(shown, line_of(root, ("rules",)), "`rules` must be a list")], []
    budget = [MAX_NODES]
    for i, node in enumerate(items):
        try:
            rule = Rule.model_validate(_plain(node, budget))
        except TooBig as exc:
            return rules, [*problems, RuleProblem(shown, line_of(root, ("rules", i)), str(exc))], lines
        except RecursionError:
            deep = RuleProblem(shown, line_of(root, ("rules", i)), f"nested deeper than {MAX_DEPTH} levels")
            return rules, [*problems, deep], lines
        except ValidationError as exc:
            seen = set()
            for err in exc.errors():
                # Drop pydantic's union-member labels ("int", "function-after[...]") from the path.
                loc = tuple(x for x in err["loc"] if isinstance(x, int) or (x not in ("int", "str", "float") and "[" not in x))
                msg = _describe({**err, "loc": loc})
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    msg = f"rule {node['id']}: {msg}"
                key = (loc, msg)
                if key in seen:
                    continue
                seen.add(key)
                problems.append(RuleProblem(shown, line_of(root, ("rules", i, *loc)), msg))
            continue
        bad = _semantic(rule, catalog)
        for loc, msg in bad:
            problems.append(RuleProblem(shown, line_of(root, ("rules", i, *loc)), f"rule {rule.id}: {msg}"))
        if not bad:
            rules.append(rule)
            lines.append(line_of(root, ("rules", i)))
    return rules, problems, lines


def load_rules(targets: Sequence[str | Path] | str | Path, catalog: Catalog) -> LoadedRules:
    """Load every rules file under the targets; all problems at once, duplicates included."""
    if isinstance(targets, (str, Path)):
        targets = [targets]
    files = [f for t in targets for f in rule_files(t)]
    all_rules: list[Rule] = []
    problems: list[RuleProblem] = []
    seen: dict[str, str] = {}
    if not files:
        problems.append(RuleProblem(str(targets[0]) if targets else "rules", 1, "no rule files found"))
    for f in files:
        if not f.exists():
            problems.append(RuleProblem(str(f), 1, "file not found"))
            continue
        try:
            rules, probs, lines = _load_file(f, catalog)
        except Exception as exc:  # one odd file must not stop the others loading
            rules, probs, lines = [], [RuleProblem(str(f), 1, f"cannot load: {type(exc).__name__}: {exc}")], []
        problems.extend(probs)
        for r, line in zip(rules, lines, strict=False):
            if r.id in seen:
                problems.append(RuleProblem(str(f), line, f"rule id {r.id!r} already defined at {seen[r.id]}"))
                continue
            seen[r.id] = f"{f}:{line}"
            all_rules.append(r)
    return LoadedRules(all_rules, problems, files)
