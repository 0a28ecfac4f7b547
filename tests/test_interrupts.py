"""A signal inside `stop_on` raises nothing where it lands: it is raised as `Interrupted` at the next `check`, or
when the block ends, and the previous handlers are back afterwards (tests/search/test_slurm.py: a whole search)."""

import signal

import pytest

from ftd_nas import interrupts
from ftd_nas.interrupts import Interrupted, check, stop_on


def test_a_signal_waits_for_the_next_check_and_a_second_one_changes_nothing():
    before = signal.getsignal(signal.SIGTERM)
    reached = []
    with pytest.raises(Interrupted) as caught:
        with stop_on(signal.SIGTERM):
            check()  # nothing asked for yet
            exec("import signal\nsignal.raise_signal(signal.SIGTERM)")  # lands inside exec()'d code: no exception
            signal.raise_signal(signal.SIGTERM)  # a second one, while the first is pending
            reached.append(interrupts.requested())
            check()
            reached.append("after the check")
    assert reached == [signal.SIGTERM] and caught.value.signum == signal.SIGTERM
    assert isinstance(caught.value, KeyboardInterrupt)  # handled as Ctrl-C is: re-queue, exit code 130
    assert signal.getsignal(signal.SIGTERM) is before and interrupts.requested() is None


def test_a_signal_after_the_last_check_ends_the_block_as_interrupted():
    with pytest.raises(Interrupted):
        with stop_on(signal.SIGTERM):
            signal.raise_signal(signal.SIGTERM)  # e.g. while the summary is printed
    with stop_on(signal.SIGTERM):  # a fresh block starts with no request
        check()
    check()  # outside a block it does nothing


def test_sleep_ends_soon_after_a_stop_is_asked_for(monkeypatch):
    naps = []

    def nap(seconds):
        naps.append(seconds)
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(interrupts.time, "sleep", nap)
    with pytest.raises(Interrupted), stop_on(signal.SIGTERM):
        interrupts.sleep(60)
    assert naps == [interrupts.POLL]
