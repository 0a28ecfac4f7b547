"""The sbatch script of `search --slurm-script`: every value that reaches it is checked or quoted for the reader of
its line (sbatch for #SBATCH lines, bash for the rest), so a path with spaces works and no value adds a line."""

import shlex
import subprocess

import pytest

from ftd_nas.errors import ConfigError
from ftd_nas.queue.slurm import SlurmConfig, sbatch_value, slurm_script


def _sbatch_arguments(text: str, single_quotes: bool = True) -> list[str]:
    """The arguments sbatch reads from the rest of an #SBATCH line: a port of `_get_argument` in Slurm's
    src/sbatch/opt.c, as newer versions have it (double and single quotes group, a backslash escapes, an unescaped
    # outside quotes starts a comment) or, with `single_quotes=False`, as older ones (only double quotes group,
    and a # ends the line even inside them)."""
    args, i = [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return args
        arg, quote, escape = [], None, False
        while i < len(text) and (quote or not text[i].isspace()) and text[i] != "\n":
            c = text[i]
            if escape:
                escape = False
            elif c == "\\":
                escape, i = True, i + 1
                continue
            elif quote and c == quote:
                quote, i = None, i + 1
                continue
            elif not quote and (c == '"' or (single_quotes and c == "'")):
                quote, i = c, i + 1
                continue
            elif c == "#" and (not quote or not single_quotes):
                return args + (["".join(arg)] if arg else [])
            arg.append(c)
            i += 1
        assert quote is None, f"sbatch: unmatched {quote} in {text!r}"
        args.append("".join(arg))


def _sbatch_options(script: str, **parser) -> dict[str, str]:
    options = {}
    for line in script.splitlines():
        if line.startswith("#SBATCH"):
            for arg in _sbatch_arguments(line[len("#SBATCH"):], **parser):
                key, _, value = arg.partition("=")
                options[key] = value
    return options


@pytest.mark.parametrize("value", ["plain/path_1.log", "with space", "quote's \"both\"", "hash # mark", "back\\slash",
                                   "tab\tinside", "%A_%a"])
def test_a_value_is_read_back_as_itself_by_old_and_new_sbatch(value):
    for single_quotes in (True, False):
        assert _sbatch_arguments(f" --x={sbatch_value(value)} # a comment", single_quotes) == [f"--x={value}"]


def test_paths_with_spaces_quotes_and_marks_are_quoted_for_sbatch_and_for_bash(tmp_path):
    run = tmp_path / "my runs" / "it's #1 at 100%"
    argv = ["search", "--space", "convnet", "--proxy", "real", "--dataset", "digits", "--out", str(run)]
    script = slurm_script(argv, run, SlurmConfig(tasks=2, time="2-00:00", options=["--partition=gpu"]),
                          workdir=tmp_path / "my runs", python="/opt/my env/bin/python")
    for single_quotes in (True, False):
        options = _sbatch_options(script, single_quotes=single_quotes)
        assert options["--output"] == f"{str(run).replace('%', '%%')}/slurm/%A_%a.log"  # %% is sbatch's %
        assert options["--job-name"] == f"ftd-nas-{run.name}" and options["--time"] == "2-00:00"
        assert options["--partition"] == "gpu" and options["--array"] == "0-1"
    script_path = tmp_path / "search.sbatch"
    script_path.write_text(script)
    assert subprocess.run(["bash", "-n", str(script_path)]).returncode == 0
    body = script.split("\nexec ", 1)[1].strip()
    assert shlex.split(body)[:3] == ["/opt/my env/bin/python", "-m", "ftd_nas"]
    assert shlex.split(body)[shlex.split(body).index("--out") + 1] == str(run)
    assert f"# Submit: sbatch {shlex.quote(str(run / 'slurm' / 'search.sbatch'))}" in script


@pytest.mark.parametrize("time", ["1:00\nrm -rf ~", "24h", "12:00:00; reboot", "", "1-", "1:2:3:4", "$(id)"])
def test_a_time_limit_outside_sbatch_s_formats_is_refused(time):
    with pytest.raises(ConfigError, match="--slurm-time takes sbatch's time format"):
        SlurmConfig(tasks=1, time=time)


@pytest.mark.parametrize("time", ["30", "30:00", "12:00:00", "2-00", "2-12:30", "2-12:30:00", "UNLIMITED"])
def test_every_sbatch_time_format_is_accepted(time):
    assert SlurmConfig(tasks=1, time=time).time == time


def test_a_newline_in_a_path_or_an_option_is_refused(tmp_path):
    config = SlurmConfig(tasks=1)
    for run, storage in ((tmp_path / "run\nrm -rf ~", None), (tmp_path / "run", "journal:/x\n#SBATCH --x")):
        with pytest.raises(ConfigError, match="newline or another control character"):
            slurm_script(["search"], run, config, storage=storage)
    with pytest.raises(ConfigError, match="--slurm-option"):
        SlurmConfig(tasks=1, options=["--partition=gpu\rX"])
