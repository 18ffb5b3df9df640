"""How a node's earlier attempts are shown (chalicelib.attempts): the last attempt is the node itself."""

from chalicelib.attempts import previous_attempts

T0, T1, T2 = "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:05+00:00", "2026-01-01T00:00:09+00:00"


def test_a_retried_node_lists_the_attempts_before_its_last():
    log = [{"attempt": 0, "started_at": T0, "ended_at": T1, "outcome": "TIMED_OUT", "error": "slow"},
           {"attempt": 1, "started_at": T2}]
    assert previous_attempts(log, 2) == [
        {"attempt": 0, "started_at": T0, "ended_at": T1, "outcome": "TIMED_OUT", "error": "slow"}]


def test_an_attempt_never_closed_is_shown_failed_without_an_end():
    """A retry whose launch the cluster refused fails the node without starting: its predecessor stays open."""
    assert previous_attempts([{"attempt": 0, "started_at": T0}], 2) == [
        {"attempt": 0, "started_at": T0, "ended_at": None, "outcome": "FAILED"}]


def test_a_node_that_ran_once_or_has_no_log_lists_nothing():
    assert previous_attempts([{"attempt": 0, "started_at": T0}], 1) == []
    assert previous_attempts(None, 3) == []
