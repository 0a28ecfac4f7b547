import time

import pytest

from ftd_nas.errors import ConfigError, InputError
from ftd_nas.search import SearchSpace, available_spaces, candidate_id, load_space, parse_space

VALID = """\
name: mini
axes:
  depth: [1, 2]
  width: [8]
  act: [relu, sigmoid]
  norm: [none]
  pool: [avgpool, maxpool]
"""


def test_bundled_spaces():
    spaces = available_spaces()
    assert {"convnet", "convnet-cpu", "convnet-tiny"} <= set(spaces)
    full = load_space("convnet")
    assert len(full) == 720 == len({candidate_id(c) for c in full.candidates()})
    cpu = load_space("convnet-cpu")
    assert len(cpu) >= 36 and all(len(values) >= 2 for values in cpu.axes.values())  # every axis varies


def test_parse_enumerates_in_file_order():
    space = parse_space(VALID, "mini.yaml")
    assert len(space) == 8
    assert [candidate_id(c) for c in space.candidates()][:2] == ["d1-w8-relu-none-avgpool", "d1-w8-relu-none-maxpool"]


def test_fixed_settings_pin_an_axis():
    space = parse_space(VALID.replace("  norm: [none]\n", "") + "fixed:\n  norm: batchnorm\n")
    assert space.axes["norm"] == ["batchnorm"] and len(space) == 8


@pytest.mark.parametrize("text, message", [
    (VALID.replace("depth: [1, 2]", "depth: [1, 2"), "invalid YAML at line"),
    (VALID.replace("act:", "activation:"), "line 5: unknown axis 'activation'"),
    (VALID.replace("[relu, sigmoid]", "[relu, gelu]"), "line 5: act value 'gelu' must be one of"),
    (VALID.replace("width: [8]", "width: []"), "line 4: axis 'width' has no values"),
    (VALID.replace("width: [8]", "width: [0]"), "width value 0 must be a positive integer"),
    (VALID.replace("width: [8]", "width: 8"), "line 4: axis 'width' must list its values"),
    (VALID.replace("  pool: [avgpool, maxpool]\n", ""), r"axes \['pool'\] are missing"),
    (VALID.replace("name: mini", "nme: mini"), "line 1: unknown key 'nme'"),
    (VALID.replace("[1, 2]", "[1, 1]"), "repeats a value"),
    (VALID.replace("norm: [none]", "norm: [groupnorm]").replace("width: [8]", "width: [6]"), "multiple of 4"),
    ("- just\n- a list\n", "expected a mapping"),
    # limits that are no numbers a candidate's count can be compared with (.inf crashed int(), .nan too)
    *((VALID + f"constraints:\n  {key}: {value}\n", f"line 9: {key} must be a finite number >= 1")
      for key in ("max_params", "max_macs") for value in (".inf", ".nan", "-.inf", "0.5", "true")),
])
def test_invalid_files_get_a_clear_error_with_the_line(text, message):
    with pytest.raises(InputError, match=message):
        parse_space(text, "bad.yaml")


def test_unknown_space_name_lists_the_available_ones():
    with pytest.raises(ConfigError, match="available: .*convnet"):
        load_space("resnet-zoo")


def test_spaces_folder_can_be_chosen_with_an_environment_variable(tmp_path, monkeypatch):
    from ftd_nas.search import space as space_module

    (tmp_path / "mine.yaml").write_text(VALID)
    monkeypatch.setenv("FTD_NAS_SPACES", str(tmp_path))
    assert space_module._spaces_dir() == tmp_path
    assert len(load_space("mine", space_module._spaces_dir())) == 8


NB201 = """\
model: nb201
axes:
  edge_1_0: [none, skip_connect]
  edge_2_0: [none, skip_connect]
  edge_2_1: [none, skip_connect]
  edge_3_0: [none, skip_connect]
  edge_3_1: [none, skip_connect]
  edge_3_2: [none, nor_conv_3x3]
fixed:
  C: 4
  N: 1
"""


def test_nb201_spaces_name_cells_as_the_benchmark_and_keep_one_per_class():
    started = time.perf_counter()
    full = load_space("nb201")
    ids = [full.candidate_id(p) for p in full.candidates()]
    full_seconds = time.perf_counter() - started
    started = time.perf_counter()
    unique = load_space("nb201-unique")
    unique_seconds = time.perf_counter() - started
    assert len(ids) == len(set(ids)) == 15_625 and len(unique) == 6_466 and unique.unique and not full.unique
    assert ids[0] == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert full.axes["C"] == [16] and full.axes["N"] == [5]  # the settings are axes of one value: reports show them
    assert full_seconds < 3 and unique_seconds < 10, (full_seconds, unique_seconds)  # measured: 0.1 s and 0.4 s


def test_unique_keeps_the_smallest_cell_string_of_each_class_and_excludes_the_others():
    space = parse_space(NB201 + "unique: true\n", "small.yaml")
    full = parse_space(NB201, "small.yaml")
    family = space.family
    classes: dict = {}
    for params in full.candidates():
        classes.setdefault(family.isomorphism(params), []).append(full.candidate_id(params))
    kept = [space.candidate_id(p) for p in space.candidates()]
    assert sorted(kept) == sorted(min(ids) for ids in classes.values()) and len(kept) < len(full)
    assert kept == [full.candidate_id(p) for p in full.candidates() if full.candidate_id(p) in set(kept)]  # in order
    duplicate = next(p for p in full.candidates() if full.candidate_id(p) not in set(kept))
    assert space.excluded(duplicate).startswith("isomorphic to |") and full.excluded(duplicate) is None
    assert SearchSpace.from_dict(space.to_dict()).candidates() == space.candidates()
    assert "unique" not in full.to_dict()  # the identity of spaces without it is unchanged


def test_the_representatives_are_the_smallest_cell_of_each_published_class(nats_bench_rows):
    smallest: dict = {}
    for row in nats_bench_rows:
        smallest[row["UniqueString"]] = min(smallest.get(row["UniqueString"], "~"), row["ArchitectureString"])
    space = load_space("nb201-unique")
    assert sorted(space.candidate_id(p) for p in space.candidates()) == sorted(smallest.values())


def test_a_sample_is_seeded_nested_in_enumeration_order_and_recorded():
    unique = parse_space(NB201 + "unique: true\n", "u.yaml")
    small, large, other = (parse_space(NB201 + f"unique: true\nsample: {{size: {n}, seed: {seed}}}\n", "s.yaml")
                           for n, seed in ((4, 3), (8, 3), (8, 4)))
    ids = {name: [space.candidate_id(p) for p in space.candidates()]
           for name, space in (("unique", unique), ("small", small), ("large", large), ("other", other))}
    assert len(ids["small"]) == 4 and len(ids["large"]) == 8 and len(set(ids["large"])) == 8
    assert set(ids["small"]) < set(ids["large"]) < set(ids["unique"])  # one seed's samples are nested
    assert ids["large"] == [i for i in ids["unique"] if i in set(ids["large"])]  # in the space's order
    assert ids["other"] != ids["large"]  # the seed decides
    assert parse_space(NB201 + "unique: true\nsample: {size: 8, seed: 3}\n", "again.yaml").candidates() == \
        large.candidates()  # and nothing else does
    left_out = next(p for p in unique.candidates() if unique.candidate_id(p) not in set(ids["large"]))
    assert large.excluded(left_out) == "not in the space's sample (8 candidates, seed 3)"
    assert large.to_dict()["sample"] == {"size": 8, "seed": 3} and "sample" not in unique.to_dict()
    assert SearchSpace.from_dict(large.to_dict()).candidates() == large.candidates()


@pytest.mark.parametrize("text, message", [
    (NB201 + "sample: {size: 0}\n", "sample size must be a whole number >= 1, got 0"),
    (NB201 + "sample: {size: 3, seed: -1}\n", "sample seed must be a whole number >= 0"),
    (NB201 + "sample: 10\n", "sample takes size and seed"),
    (NB201 + "sample: {size: 3, seed: 0, shuffle: true}\n", "sample takes size and seed"),
    (NB201 + "sample: {size: 65}\n", "sample size 65 is more than the 64 candidates the space has without it"),
    (NB201.replace("[none, skip_connect]", "[none, conv_5x5]", 1),
     "line 3: edge_1_0 value 'conv_5x5' must be one of none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"),
    (NB201.replace("C: 4", "C: 0"), "C value 0 must be a positive integer"),
    (NB201.replace("C: 4", "C: 2.5"), "C value 2.5 must be a positive integer"),
    (NB201.replace("  N: 1\n", ""), r"axes \['N'\] are missing"),
    (NB201.replace("fixed:\n  C: 4", "  C: [4, 8]\nfixed:"), "C is a setting of nb201 spaces .* give it one value"),
    (NB201.replace("edge_3_2", "edge_3_3"), "unknown axis 'edge_3_3'; axes are edge_1_0, edge_2_0"),
    (NB201 + "unique: yes please\n", "unique must be true or false"),
    (VALID + "unique: true\n", "unique: true needs a model family that says which candidates are isomorphic "
                               "\\(nb201\\); 'convnet' does not"),
])
def test_nb201_spaces_refuse_bad_values_clearly(text, message):
    with pytest.raises(InputError, match=message):
        parse_space(text, "bad.yaml")


def test_a_family_whose_ids_collide_is_refused(monkeypatch):
    from dataclasses import replace

    from ftd_nas.models.families import FAMILIES

    monkeypatch.setitem(FAMILIES, "nb201", replace(FAMILIES["nb201"], candidate_id=lambda params: "same"))
    with pytest.raises(InputError, match="share the id 'same'"):
        parse_space(NB201, "collide.yaml")
