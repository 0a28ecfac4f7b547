import pytest
import torch

from ftd_nas.cli import main
from ftd_nas.coresets import herding, kcenter, select_coreset
from ftd_nas.errors import ConfigError
from ftd_nas.models import ModelSpec
from ftd_nas.origins import SelectConfig
from ftd_nas.proxy import Proxy


def test_herding_follows_the_running_mean_greedily():
    points = torch.tensor([[0.0], [10.0], [4.0], [6.0], [5.2]])  # mean 5.04
    # 5.2 is nearest the mean; then 4 brings the mean of two to 4.6 (6 would give 5.6); then 6: (9.2 + 6) / 3
    assert herding(points, 3) == [4, 2, 3]


def test_kcenter_starts_at_the_mean_and_covers_every_point():
    points = torch.tensor([[0.0], [1.0], [2.0], [10.0], [11.0], [20.0]])  # mean 7.33: 10 is nearest
    chosen = kcenter(points, 3)
    assert chosen == [3, 0, 5]  # then the farthest from 10 (0, first of a tie with 20), then 20
    radius = torch.cdist(points, points[chosen]).min(1).values.max()
    assert radius.item() == pytest.approx(2.0)  # every point lies within 2 of a chosen one
    rng = torch.Generator().manual_seed(0)
    cloud = torch.randn(200, 5, generator=rng)
    greedy = torch.cdist(cloud, cloud[kcenter(cloud, 10)]).min(1).values.max()
    random = torch.cdist(cloud, cloud[torch.randperm(200, generator=rng)[:10]]).min(1).values.max()
    assert greedy < random  # covering, not sampling


def test_selection_keeps_classes_and_real_images(digits):
    proxy = select_coreset(SelectConfig(method="herding", ipc=3, model=ModelSpec(width=8, depth=2), epochs=1), digits)
    assert proxy.labels.tolist() == [c for c in range(10) for _ in range(3)]
    rows = (proxy.images.flatten(1)[:, None, :] == digits.train.x.flatten(1)[None]).all(-1).any(1)
    assert rows.all()  # every image is a real training image
    with pytest.raises(ConfigError, match="--method must be one of"):
        SelectConfig(method="kmeans")


def test_select_cli_writes_a_proxy_that_search_and_evaluate_use(tmp_path, capsys):
    out = tmp_path / "kc.safetensors"
    args = ["select", "--method", "kcenter", "--ipc", "2", "--width", "8", "--depth", "2", "--epochs", "1",
            "--out", str(out), "--no-progress", "--device", "cpu"]
    assert main(args) == 0
    record = Proxy.load(out).record
    assert record.method == "kcenter" and record.selection.epochs == 1 and record.seconds > 0
    assert main(args) == 0 and "nothing to do" in capsys.readouterr().out  # same selection: kept
    assert main(args[:4] + ["3"] + args[5:]) == 2  # another selection over it: refused without --overwrite
    space = tmp_path / "s.yaml"
    space.write_text("axes:\n  depth: [1]\n  width: [4]\n  norm: [none]\n  act: [relu]\n  pool: [none]\n")
    assert main(["search", "--space", str(space), "--proxy", str(out), "--dataset", "digits", "--epochs", "2",
                 "--out", str(tmp_path / "run"), "--device", "cpu", "--no-progress"]) == 0
