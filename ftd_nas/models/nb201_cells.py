"""The NAS-Bench-201 cell as text: its operations and edges, the benchmark's cell string, and the benchmark's
name for a cell's isomorphism class.

A cell has nodes 0..3 (0 its input, 3 its output); node j is the sum over i < j of op(i -> j)(node i), so it has
six edges, each carrying one of five operations. As a candidate of a search space, a cell is six axes named by
their edge, `edge_J_I` for the edge from node I into node J (`edge_2_0`: from the input into node 2).

The benchmark names a cell by its cell string, `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (one group per node 1, 2,
3; `op~i` the edge from node i), which is how its published table and every paper's results name cells, so a
candidate's id is that string. Its table also groups isomorphic cells under a `UniqueString`; `unique_string`
gives the same string from the six operations, so the table's 6,466 classes can be rebuilt, kept one each, and
joined by name.
"""

from __future__ import annotations

import re

from ftd_nas.errors import ConfigError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (node, source) in the cell string's order
NODES = 4
ZERO = "#"  # the benchmark's unique strings write a term known to be zero so


def edge_axis(node: int, source: int) -> str:
    """The axis of the edge from node `source` into node `node`."""
    return f"edge_{node}_{source}"


EDGE_AXES = tuple(edge_axis(node, source) for node, source in EDGES)


# |{edge_1_0}~0|+|{edge_2_0}~0|{edge_2_1}~1|+|...|: one format call per cell (a space names 15,625 of them)
_CELL_FORMAT = "+".join("|" + "".join(f"{{{edge_axis(node, i)}}}~{i}|" for i in range(node))
                        for node in range(1, NODES))


def cell_string(params: dict) -> str:
    """The benchmark's name of the cell whose edge operations `params` gives (other keys, e.g. C and N, ignored)."""
    return _CELL_FORMAT.format_map(params)


_TERM = re.compile(r"([a-z_0-9]+)~(\d)")


def parse_cell_string(text: str) -> dict[str, str]:
    """The six edge axes of a cell string; what is wrong with it when it is not one of the 15,625 cells."""
    groups = text.split("+") if isinstance(text, str) else []
    if len(groups) != NODES - 1:
        raise ConfigError(f"{text!r} is not a NAS-Bench-201 cell string: expected {NODES - 1} groups joined by '+', "
                          "e.g. |nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|")
    params = {}
    for node, group in enumerate(groups, start=1):
        terms = group.split("|")
        if len(terms) != node + 2 or terms[0] or terms[-1]:
            raise ConfigError(f"cell string {text!r}: group {node} {group!r} must be |op~0|...|op~{node - 1}| "
                              f"({node} edges between bars)")
        for source, term in enumerate(terms[1:-1]):
            match = _TERM.fullmatch(term)
            if match is None or int(match[2]) != source:
                raise ConfigError(f"cell string {text!r}: {term!r} must be op~{source} (the edge from node {source} "
                                  f"into node {node})")
            if match[1] not in OPS:
                raise ConfigError(f"cell string {text!r}: unknown operation {match[1]!r}; operations are "
                                  f"{', '.join(OPS)}")
            params[edge_axis(node, source)] = match[1]
    return params


def unique_string(params: dict) -> str:
    """The benchmark's name of the cell's isomorphism class: its table's `UniqueString`, character for character.

    Each node is written as the sorted sum of its incoming terms: the input is `0`, an operation on a node is
    `(node)@op`, a skip connection is the node itself, and a `none` edge, or any edge from a node written as
    exactly `#`, is `#`. Its 6,466 classes (of 15,625 cells) are what the literature calls the unique cells.

    The rule is the benchmark's, kept for that name and count; it is finer than equality of the function
    computed. A `#` term still counts (`#+#+0` and `#+#+#+0` both compute the input), a node that sums only
    zeros is written `#+#` and not recognised as zero downstream, and the text of a nested sum sorts with its
    siblings as one string. Canonicalising the computation itself (zero edges and nodes without a path from the
    input removed, sums flattened) would leave 4,930 classes, each a union of the benchmark's.
    """
    nodes = ["0"]
    for node in range(1, NODES):
        terms = []
        for source in range(node):
            op, value = params[edge_axis(node, source)], nodes[source]
            if op == "none" or value == ZERO:
                terms.append(ZERO)
            elif op == "skip_connect":
                terms.append(value)
            else:
                terms.append(f"({value})@{op}")
        nodes.append("+".join(sorted(terms)))
    return nodes[-1]
