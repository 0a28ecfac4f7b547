import pytest

from ftd_nas.errors import ConfigError, InputError
from ftd_nas.search import available_spaces, candidate_id, load_space, parse_space

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
