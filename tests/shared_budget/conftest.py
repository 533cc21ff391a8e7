"""A real ``redis-server`` for each shared-budget test, on a free 127.0.0.1 port.

No fake Redis: the window lives in limits' script on a real server. Where ``redis-server`` is
missing these tests skip with the way to install it, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from benchmarks.redis_server import INSTALL_HINT, RedisServer, running_redis


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{INSTALL_HINT}; CI needs it for the shared-budget tests")
        pytest.skip(INSTALL_HINT)
    with running_redis() as server:
        yield server
