"""What a PromQL expression refers to: its metric names, and the label names it matches on or
groups by. A small scanner rather than a full parser: it knows PromQL's keywords, functions
(anything called with parentheses) and label lists, which is all that dashboards and rules use,
and it fails loudly (ValueError) on brackets it cannot balance rather than guessing."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
RANGE = re.compile(r"\[[^\]]*\]")
GRAFANA_VARIABLE = re.compile(r"\$\{?\w+\}?")
IDENTIFIER = re.compile(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*")
# Words followed by a parenthesised list of label names, not an expression.
LABEL_LIST_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "start", "end"}


@dataclass
class References:
    metrics: set[str] = field(default_factory=set)
    # label names in {...} selectors, per metric
    matcher_labels: dict[str, set[str]] = field(default_factory=dict)
    # label names in by/without/on/ignoring/group_left/group_right lists
    grouping_labels: set[str] = field(default_factory=set)


def _closing(text: str, start: int, opening: str, closing: str) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == opening:
            depth += 1
        elif text[index] == closing:
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced {opening!r} in {text!r}")


def _names(text: str) -> set[str]:
    return {name for name in (part.split("=")[0].split("!")[0].strip() for part in text.split(",")) if name}


def references(expr: str) -> References:
    text = STRING.sub('""', expr)
    text = RANGE.sub("", text)
    text = GRAFANA_VARIABLE.sub("", text)
    found = References()
    position = 0
    while True:
        match = IDENTIFIER.search(text, position)
        if match is None:
            return found
        word, position = match.group(), match.end()
        rest = text[position:]
        following = rest.lstrip()[:1]
        skipped = len(rest) - len(rest.lstrip())
        if word in LABEL_LIST_WORDS and following == "(":
            end = _closing(text, position + skipped, "(", ")")
            found.grouping_labels |= _names(text[position + skipped + 1:end])
            position = end + 1
        elif following == "(" or word in AGGREGATIONS or word in KEYWORDS:
            continue  # a function, an aggregation or an operator, not a series
        else:
            found.metrics.add(word)
            labels = found.matcher_labels.setdefault(word, set())
            if following == "{":
                end = _closing(text, position + skipped, "{", "}")
                labels |= _names(text[position + skipped + 1:end])
                position = end + 1
