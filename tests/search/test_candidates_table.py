import math

import pytest

from ftd_nas.agreement import FAILED
from ftd_nas.errors import InputError
from ftd_nas.search.candidates_table import read_candidates, write_candidates

REPORT = {"truth_scores": {"a": 0.5, "b": 0.7}, "truth_repeats": {"a": [0.4, 0.6], "b": [0.7, 0.7]},
          "runs": [{"name": "FTD", "label": "FTD", "source": {"kind": "proxy", "method": "ftd"}, "train_images": 100,
                    "scores": {"a": 0.3, "b": FAILED}},
                   {"name": "Random", "label": "Random", "source": {"kind": "random"}, "train_images": 100,
                    "scores": {"a": 0.2, "b": 0.1}}]}


def test_a_table_round_trips_with_failures_ranked_last(tmp_path):
    write_candidates(REPORT, tmp_path / "c.csv")
    table = read_candidates(tmp_path / "c.csv")
    assert table.truth == REPORT["truth_scores"] and table.truth_repeats == REPORT["truth_repeats"]
    ftd, rand = table.runs
    assert ftd["scores"]["b"] == FAILED and math.isinf(ftd["scores"]["b"]) and ftd["source"]["method"] == "ftd"
    assert rand["source"] == {"kind": "random"} and rand["train_images"] == 100 and rand["label"] == "Random"


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace("run_name,", "name,", 1), "not a candidates.csv of ftd-nas report"),
    (lambda t: t.replace(",0.3,", ",nan,"), r"line \d+: score 'nan' is not finite"),
    (lambda t: t.replace(",0.3,", ",high,"), r"line \d+: score 'high' is not a number"),
    (lambda t: t.replace("finished", "done", 1), r"state 'done'"),
    (lambda t: t + t.splitlines()[-1] + "\n", "appears twice"),
    (lambda t: "\n".join(r for r in t.splitlines() if not r.startswith("truth")) + "\n", "needs the truth's rows"),
])
def test_a_bad_table_is_refused_saying_where_and_what(tmp_path, edit, match):
    write_candidates(REPORT, tmp_path / "c.csv")
    (tmp_path / "c.csv").write_text(edit((tmp_path / "c.csv").read_text()))
    with pytest.raises(InputError, match=match):
        read_candidates(tmp_path / "c.csv")
