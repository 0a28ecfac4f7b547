"""`inside`: what ftd-nas opens inside a folder it is given stays there: no absolute name, no `..`, no symbolic link
below the folder (the file itself included); the folder itself may be a link, since the user named it."""

import os

import pytest

from ftd_nas.errors import InputError
from ftd_nas.paths import inside


def test_a_plain_name_inside_the_folder_is_its_path(tmp_path):
    (tmp_path / "sub").mkdir()
    assert inside(tmp_path, "study.db", "the study file") == tmp_path / "study.db"  # need not exist yet
    assert inside(tmp_path, "sub/x.json", "the file") == tmp_path / "sub" / "x.json"


@pytest.mark.parametrize("name", ["/etc/passwd", "../x.db", "sub/../../x.db", "", "."])
def test_a_name_that_leaves_the_folder_is_refused(tmp_path, name):
    with pytest.raises(InputError, match="is not a path inside"):
        inside(tmp_path, name, "the study file")


def test_a_symbolic_link_at_any_level_below_the_folder_is_refused_naming_its_target(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    (run / "study.db").symlink_to(outside / "other.db")  # dangling: creating the file would create it outside
    (run / "slurm").symlink_to(outside)
    with pytest.raises(InputError, match=r"is a symbolic link .*other\.db.*does not follow links"):
        inside(run, "study.db", "the study file")
    with pytest.raises(InputError, match=r"the SLURM script .* is a symbolic link \(.*slurm' -> "):
        inside(run, "slurm/search.sbatch", "the SLURM script")
    with pytest.raises(InputError, match="name the target on the command line"):
        inside(run, "slurm", "the folder")
    with pytest.raises(InputError, match="give it with --storage"):
        inside(run, "study.db", "the study file", fix="give it with --storage")


def test_the_folder_the_user_named_may_itself_be_a_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "alias")
    assert inside(tmp_path / "alias", "run.json", "the run record") == tmp_path / "alias" / "run.json"
