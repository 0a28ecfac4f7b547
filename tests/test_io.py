import os
import stat
import threading

import pytest

from ftd_nas.errors import ConfigError
from ftd_nas.io import create_json_once, refuse_overwrite, write_json, write_result_json


@pytest.mark.parametrize("umask, mode", [(0o002, 0o664), (0o022, 0o644), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        assert create_json_once(tmp_path / "b.json", {"x": 1})
    finally:
        os.umask(old)
    for name in ("a.json", "b.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_commands_write_group_readable_results_under_a_group_umask(tmp_path, digits):
    from ftd_nas.experts import ExpertConfig, expert_train_config, train_experts
    from ftd_nas.models import ModelSpec

    old = os.umask(0o002)
    try:
        train_experts(ExpertConfig(model=ModelSpec(width=4, depth=1), num_experts=1,
                                   train=expert_train_config(epochs=1, progress=False)), tmp_path, dataset=digits,
                      device="cpu")
    finally:
        os.umask(old)
    for name in ("expert_0000.safetensors", "experts.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o664, name


def test_create_once_has_exactly_one_winner_and_leaves_no_temporary_files(tmp_path):
    path, wins = tmp_path / "settings.json", []
    threads = [threading.Thread(target=lambda i=i: wins.append(create_json_once(path, {"by": i}))) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]
    assert os.listdir(tmp_path) == ["settings.json"]


def test_an_existing_result_is_replaced_only_when_asked(tmp_path):
    path = tmp_path / "r.json"
    write_result_json(path, {"v": 1})
    with pytest.raises(ConfigError, match="exists.*--overwrite"):
        write_result_json(path, {"v": 2})
    assert path.read_text().count("1") == 1
    write_result_json(path, {"v": 2}, overwrite=True)
    refuse_overwrite(tmp_path / "new.json", overwrite=False)  # a new path is always fine


def test_a_full_disk_while_writing_is_a_disk_full_error_naming_the_file_and_keeps_the_old_one(tmp_path,
                                                                                              monkeypatch):
    import errno

    import torch
    from safetensors import SafetensorError

    from ftd_nas.errors import DiskFullError
    from ftd_nas.io import atomic_path

    target = tmp_path / "result.safetensors"
    target.write_bytes(b"the finished result")

    def safetensors_on_a_full_disk(tmp):  # safetensors' writer reports the errno only in its text
        tmp.write_bytes(b"half")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    def torch_save_on_a_full_disk(obj, fh):  # torch.save into a file object: its RuntimeError hides the OSError
        fh.write(b"half")
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")

    monkeypatch.setattr(torch, "save", torch_save_on_a_full_disk)
    for write in (safetensors_on_a_full_disk, lambda tmp: torch.save({}, open(tmp, "wb"))):
        with pytest.raises(DiskFullError, match=f"while writing '{target}'; free some disk space .* re-run to resume"):
            with atomic_path(target) as tmp:
                write(tmp)
        assert target.read_bytes() == b"the finished result" and os.listdir(tmp_path) == ["result.safetensors"]
    with pytest.raises(DiskFullError, match="settings.json"):  # the writer's own OSError has no file name
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EDQUOT, "quota")))
        create_json_once(tmp_path / "settings.json", {"x": 1})
    monkeypatch.undo()
    with pytest.raises(ValueError, match="not a disk"):  # any other failure is left as it is
        with atomic_path(target) as tmp:
            raise ValueError("not a disk problem")
