"""`real_data_for`: the real data a file was made from, named by the caller, preprocessed and checked as the file's."""

from dataclasses import replace

import pytest

from ftd_nas.data.fingerprint import DataMismatchError
from ftd_nas.data.for_file import fingerprint_of, real_data_for
from ftd_nas.errors import ConfigError


def test_loads_and_checks_the_data_of_a_fingerprint(digits):
    expected = digits.fingerprint()
    data = real_data_for(expected, "digits")
    assert data.fingerprint() == expected


def test_refuses_without_a_location_naming_the_option(digits):
    with pytest.raises(ConfigError, match="--dataset digits"):
        real_data_for(digits.fingerprint(), None, what="the proxy 'p'")


def test_refuses_other_data_with_the_one_message(digits):
    other = replace(digits.fingerprint(), train_sha256="0" * 64)
    with pytest.raises(DataMismatchError, match="is not the data of the proxy 'p'"):
        real_data_for(other, "digits", what="the proxy 'p'")


def test_files_made_from_the_same_data_share_one_load(digits):
    loaded = {}
    first = real_data_for(digits.fingerprint(), "digits", loaded=loaded)
    assert real_data_for(digits.fingerprint(), "digits", loaded=loaded) is first and len(loaded) == 1


def test_fingerprint_of_records_and_files(digits):
    class Record:
        data = digits.fingerprint()

    class File:
        record = Record()

    class Identity:
        data = digits.fingerprint()

    class RunRecord:
        identity = Identity()

    for source in (Record(), File(), RunRecord(), digits.fingerprint()):
        assert fingerprint_of(source) == digits.fingerprint()
    with pytest.raises(TypeError):
        fingerprint_of(object())
