"""The IDLE reconnection backoff: doubling from 1 s, capped at a minute, with jitter."""

from __future__ import annotations

from service.schedule.idle import reconnect_delay


def test_delays_double_then_stay_at_the_cap():
    assert [reconnect_delay(n, rng=lambda: 1.0) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert reconnect_delay(1000, rng=lambda: 1.0) == 60


def test_jitter_draws_between_half_and_all_of_the_delay():
    assert [reconnect_delay(n, rng=lambda: 0.0) for n in (1, 4, 9)] == [0.5, 4, 30]
    assert reconnect_delay(4, rng=lambda: 0.5) == 6
