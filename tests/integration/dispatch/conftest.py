from __future__ import annotations

import pytest

from tests.support.kube_emulator import core_v1, start_emulator


@pytest.fixture(scope="session")
def kube():
    """The official client against a Kubernetes API emulator on 127.0.0.1, once per session."""
    url, _emulator, stop = start_emulator()
    yield core_v1(url)
    stop()
