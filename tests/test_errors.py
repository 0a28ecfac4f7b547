"""Failures that reach us wrapped are recognised in one place: a full disk through safetensors, torch, SQLite and
optuna, an allocator out of memory through torch's CPU allocator (a plain RuntimeError)."""

import errno
import sqlite3

import pytest

from ftd_nas.errors import DiskFullError, disk_full, disk_full_error, exhausted, one_line, out_of_memory


def _raised(outer, inner):
    """`outer` raised while handling `inner`, as optuna and SQLAlchemy wrap what went wrong."""
    try:
        try:
            raise inner
        except BaseException:
            raise outer
    except BaseException as exc:
        return exc


class StorageInternalError(Exception):  # optuna's, whose text says nothing of what failed
    __module__ = "optuna.exceptions"


def _optuna_wrapped(inner):
    exc = StorageInternalError("An exception is raised during the commit. This typically happens due to invalid "
                               "data in the commit, e.g. exceeding max length. ")
    exc.__cause__ = inner
    return exc


def test_a_full_disk_is_recognised_however_it_was_reported():
    from safetensors import SafetensorError

    # as each writer reports it (the texts are the real ones, measured on a full tmpfs)
    assert disk_full(OSError(errno.ENOSPC, "No space left on device")) == errno.ENOSPC
    assert disk_full(OSError(errno.EDQUOT, "Disk quota exceeded")) == errno.EDQUOT
    assert disk_full(SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)"))
    assert disk_full(_raised(RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598"),
                             OSError(errno.ENOSPC, "No space left on device")))  # torch.save into a file object
    assert disk_full(_optuna_wrapped(sqlite3.OperationalError("database or disk is full")))
    assert disk_full(DiskFullError("the disk is full")) and exhausted(DiskFullError("x")) == "disk"
    for other in (OSError(errno.EACCES, "Permission denied"), RuntimeError("unexpected pos 576 vs 534"),
                  ValueError("no space for a comment")):
        assert disk_full(other) is None and exhausted(other) is None


def test_its_error_says_where_and_how_to_go_on():
    error = disk_full_error(OSError(errno.ENOSPC, "No space left on device"), "run/proxy.safetensors")
    assert isinstance(error, DiskFullError) and error.exit_code == 3
    assert str(error) == ("the disk is full (no space left on device) while writing 'run/proxy.safetensors'; free "
                          "some disk space (or choose another output folder), then re-run to resume")
    assert "quota" in str(disk_full_error(OSError(errno.EDQUOT, "Disk quota exceeded")))
    named = OSError(errno.ENOSPC, "No space left on device", "run/study.journal")  # the file from the chain
    assert "while writing 'run/study.journal'" in str(disk_full_error(_raised(ValueError("x"), named)))


@pytest.mark.parametrize("exc", [
    MemoryError(),
    RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you tried to "
                 "allocate 123456789 bytes."),
    RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 4000000000 bytes. Error code 12 "
                 "(Cannot allocate memory)"),
    RuntimeError("CUDA error: out of memory"),
    RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"),
    OSError(errno.ENOMEM, "Cannot allocate memory"),
])
def test_an_exhausted_allocator_is_recognised_however_torch_reported_it(exc):
    import torch

    assert out_of_memory(exc) and exhausted(exc) == "memory"
    assert out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


def test_one_line_reads_what_optuna_wraps():
    wrapped = _optuna_wrapped(sqlite3.DatabaseError("file is not a database\n[SQL: SELECT 1]"))
    assert one_line(wrapped) == "DatabaseError: file is not a database"
    assert one_line(ValueError("")) == "ValueError"
