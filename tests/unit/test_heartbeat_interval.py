"""Heartbeats go three to a heartbeat window: enough that one lost call does not fail a task, few enough that a
deployment's long tasks do not spend the account's 500/s Step Functions answer bucket on them."""

from __future__ import annotations

import dataclasses

from chalicelib.config import Settings


def heartbeats_per_hour(settings: Settings) -> int:
    return 3600 // settings.pod_heartbeat_seconds


def test_a_default_deployment_heartbeats_a_third_of_its_window():
    settings = Settings.for_stack("s")
    assert settings.heartbeat_seconds == 300
    assert settings.pod_heartbeat_seconds == 100
    assert heartbeats_per_hour(settings) == 36  # a fixed 20 s interval sent 180


def test_short_windows_still_heartbeat_within_them():
    for window, interval in ((5, 1), (2, 1), (60, 20), (3600, 1200)):
        settings = dataclasses.replace(Settings.for_stack("s"), heartbeat_seconds=window)
        assert settings.pod_heartbeat_seconds == interval
        assert 3 * settings.pod_heartbeat_seconds <= max(window, 3)
