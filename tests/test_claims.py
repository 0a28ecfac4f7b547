"""Claim files: exactly one owner, even when several processes take over one stale claim at once; a claim
never seen half-written; a release that removes only its own claim."""

import json
import os
import threading
import time

import pytest

from ftd_nas import claims
from ftd_nas.claims import claim_is_live, release, try_claim

DEAD = json.dumps({"pid": 2**22 + 12345, "host": os.uname().nodename, "time": 0, "token": "dead"})
ELSEWHERE = json.dumps({"pid": 1, "host": "elsewhere", "time": 0, "token": "other"})


def test_a_claim_judged_stale_but_taken_over_meanwhile_is_left_to_its_new_owner(tmp_path, monkeypatch):
    claim = tmp_path / "e.claim"
    claim.write_text(DEAD)
    judged = claims._is_stale

    def another_process_takes_over_first(content, age, stale_after):
        stale = judged(content, age, stale_after)
        claim.unlink()  # between our look and our takeover, another process replaces the dead claim
        claim.write_text(ELSEWHERE)
        return stale

    monkeypatch.setattr(claims, "_is_stale", another_process_takes_over_first)
    assert not try_claim(claim)  # before: it moved the fresh claim away and also won
    assert claim.read_text() == ELSEWHERE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.claim"]  # nothing left aside


def test_racing_takeovers_of_a_dead_claim_have_one_winner(tmp_path):
    for round_ in range(20):
        claim = tmp_path / f"r{round_}.claim"
        claim.write_text(DEAD)
        start, won = threading.Barrier(6), []

        def contend():
            start.wait()
            if try_claim(claim):
                won.append(1)

        threads = [threading.Thread(target=contend) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1 and json.loads(claim.read_text())["pid"] == os.getpid()


def test_a_half_written_claim_is_someones_for_a_minute(tmp_path):
    claim = tmp_path / "e.claim"
    claim.write_text("")  # an older version died between creating and writing it, or is writing it now
    assert claim_is_live(claim) and not try_claim(claim)
    old = time.time() - claims.UNREADABLE_STALE_AFTER - 5
    os.utime(claim, (old, old))
    assert not claim_is_live(claim) and try_claim(claim)


def test_a_release_removes_only_its_own_claim(tmp_path):
    claim = tmp_path / "e.claim"
    claim.write_text(ELSEWHERE)  # ours was taken over while we held it
    release(claim)
    assert claim.read_text() == ELSEWHERE
    claim.unlink()
    assert try_claim(claim)
    release(claim)
    assert list(tmp_path.iterdir()) == []


def test_claims_work_where_the_filesystem_has_no_hard_links(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    claim = tmp_path / "e.claim"
    assert try_claim(claim) and not try_claim(claim)
    assert json.loads(claim.read_text())["pid"] == os.getpid()
    release(claim)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [DEAD, ELSEWHERE])
def test_stale_claims_are_taken_over(tmp_path, content):
    claim = tmp_path / "e.claim"
    claim.write_text(content)
    if content == ELSEWHERE:  # a live claim on another machine: stale only once its heartbeat is old
        assert not try_claim(claim, stale_after=1000)
        os.utime(claim, (time.time() - 100, time.time() - 100))
    assert try_claim(claim, stale_after=10)
    assert json.loads(claim.read_text())["pid"] == os.getpid()
