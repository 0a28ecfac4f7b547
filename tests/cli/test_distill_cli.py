import json

from ftd_nas.cli import main
from ftd_nas.evaluation import load_evaluations
from ftd_nas.proxy import Proxy


def test_distill_then_evaluate_from_the_command_line(gsam_experts, tmp_path, capsys):
    out = tmp_path / "proxy.safetensors"
    assert main(["distill", "--experts", str(gsam_experts), "--dataset", "digits", "--out", str(out), "--ipc", "2",
                 "--syn-steps", "2",
                 "--max-start-epoch", "2", "--iterations", "3", "--unroll", "checkpoint", "--no-progress",
                 "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "resolved configuration" in printed and "syn_steps=2" in printed and "unroll=checkpoint" in printed
    assert main(["evaluate", str(out), "--dataset", "digits", "--runs", "2", "--epochs", "4", "--baseline", "random",
                 "--no-progress",
                 "--device", "cpu", "--json", str(tmp_path / "ev.json")]) == 0
    printed = capsys.readouterr().out
    assert "proxy" in printed and "random" in printed
    record = json.loads((tmp_path / "ev.json").read_text())
    assert set(record["sets"]) == {"proxy", "random"}
    assert record["sets"]["random"]["lr"] == 0.01 and record["sets"]["proxy"]["lr"] == Proxy.load(out).syn_lr
    assert len(load_evaluations(Proxy.load(out))) == 1  # results are kept beside the proxy
    assert (tmp_path / "proxy.safetensors.run" / "curves-distillation.png").is_file()  # written by distill
    capsys.readouterr()
    assert main(["curves", str(out), str(gsam_experts), "--label", "FTD", "--label", "GSAM experts",
                 "--out", str(tmp_path / "figs" / "c")]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "figs" / f"c-{kind}.{ext}")
                                               for kind in ("distillation", "training") for ext in ("png", "pdf")]


def test_distill_explains_wrong_experts(sgd_experts, tmp_path, capsys):
    assert main(["distill", "--experts", str(sgd_experts), "--dataset", "digits", "--out", str(tmp_path / "p"),
                 "--method", "ftd"]) == 3  # experts that do not fit: an input error
    assert "needs gsam experts" in capsys.readouterr().err
    assert main(["distill", "--experts", str(sgd_experts), "--out", str(tmp_path / "p"), "--method", "mtt",
                 "--dataset", f"npz:{tmp_path}/other.npz"]) == 3
    assert "does not exist" in capsys.readouterr().err
