import numpy as np
import pytest

from ftd_nas.data import stratified_split


def test_split_is_stratified_disjoint_and_complete():
    labels = np.repeat(np.arange(4), [10, 20, 30, 41])
    keep, held = stratified_split(labels, 0.1, seed=3)
    assert set(keep).isdisjoint(held)
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(len(labels)))
    assert np.bincount(labels[held]).tolist() == [1, 2, 3, 4]


def test_split_depends_on_seed_only():
    labels = np.repeat(np.arange(3), 50)
    a = stratified_split(labels, 0.2, seed=1)[1]
    b = stratified_split(labels, 0.2, seed=1)[1]
    c = stratified_split(labels, 0.2, seed=2)[1]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_zero_fraction_holds_nothing_out_and_bad_fraction_fails():
    labels = np.arange(10) % 2
    keep, held = stratified_split(labels, 0.0, seed=0)
    assert len(held) == 0 and len(keep) == 10
    with pytest.raises(ValueError):
        stratified_split(labels, 1.0, seed=0)
