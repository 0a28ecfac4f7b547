"""The NAS-Bench-201 cell as text: cell strings both ways, and the benchmark's isomorphism classes checked against
its published table."""

import itertools
from collections import defaultdict

import pytest

from ftd_nas.errors import ConfigError
from ftd_nas.models.nb201_cells import EDGE_AXES, OPS, cell_string, parse_cell_string, unique_string

RESNET_CELL = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


def every_cell() -> list[dict]:
    return [dict(zip(EDGE_AXES, ops)) for ops in itertools.product(OPS, repeat=len(EDGE_AXES))]


def test_edges_are_named_by_their_nodes_in_the_cell_strings_order():
    assert EDGE_AXES == ("edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2")
    params = parse_cell_string(RESNET_CELL)
    assert params == {"edge_1_0": "nor_conv_3x3", "edge_2_0": "none", "edge_2_1": "nor_conv_3x3",
                      "edge_3_0": "skip_connect", "edge_3_1": "none", "edge_3_2": "skip_connect"}


def test_the_cell_string_round_trips_for_every_cell():
    cells = every_cell()
    strings = [cell_string({**params, "C": 16, "N": 5}) for params in cells]  # the settings are not in the name
    assert len(set(strings)) == 15_625
    assert all(parse_cell_string(text) == params for text, params in zip(strings, cells))


@pytest.mark.parametrize("text, message", [
    (RESNET_CELL.replace("nor_conv_3x3~0", "conv_5x5~0"), "unknown operation 'conv_5x5'"),
    (RESNET_CELL.replace("none~1|", "none~2|"), "must be op~1"),
    (RESNET_CELL.rsplit("+", 1)[0], "expected 3 groups"),
    (RESNET_CELL.replace("|none~0|nor_conv_3x3~1|", "|none~0|"), "group 2 .* must be"),
    (16, "is not a NAS-Bench-201 cell string"),
])
def test_a_bad_cell_string_is_refused_saying_what_is_wrong(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_cell_string(text)


def test_unique_strings_write_the_benchmarks_classes():
    # node 1 = conv(input); node 2 = zero + conv(node 1); node 3 = input + zero + node 2, terms sorted as text
    assert unique_string(parse_cell_string(RESNET_CELL)) == "#+#+((0)@nor_conv_3x3)@nor_conv_3x3+0"
    same = ["|skip_connect~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|",  # input through node 1
            "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"]  # input straight to the output
    assert len({unique_string(parse_cell_string(s)) for s in same}) == 1
    swapped = ["|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|",
               "|nor_conv_3x3~0|+|none~0|none~1|+|avg_pool_3x3~0|skip_connect~1|none~2|"]
    assert len({unique_string(parse_cell_string(s)) for s in swapped}) == 1  # a sum's order does not matter
    assert unique_string(parse_cell_string("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")) == "#+#+#"
    # the benchmark's rule, not the function: a node summing only zeros still counts as a term (docstring)
    finer = ["|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
             "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|skip_connect~2|"]
    assert [unique_string(parse_cell_string(s)) for s in finer] == ["#+#+0", "#+#+#+0"]


def test_the_classes_are_the_published_tables(nats_bench_rows):
    """Every cell's unique string is the table's UniqueString: 6,466 classes, the same cells in each."""
    ours, theirs = defaultdict(set), defaultdict(set)
    for row in nats_bench_rows:
        cell = row["ArchitectureString"]
        ours[unique_string(parse_cell_string(cell))].add(cell)
        theirs[row["UniqueString"]].add(cell)
    assert len(nats_bench_rows) == 15_625 and len(ours) == len(theirs) == 6_466
    assert sorted(map(sorted, ours.values())) == sorted(map(sorted, theirs.values()))  # the same partition
    assert all(unique_string(parse_cell_string(row["ArchitectureString"])) == row["UniqueString"]
               for row in nats_bench_rows)  # and the same names
