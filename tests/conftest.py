"""Shared fixtures: a simulated board being played, a device client connected to it over its pty, and a progress
store's URL on each database."""

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, settings

from flutex.host.link.client import DeviceClient
from flutex.host.link.transport import SerialTransport
from flutex.sim.world import simulation

# CI runs on two shared cores: time limits on single examples would fail on load, not on bugs.
settings.register_profile("flutex", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("flutex")


@pytest.fixture(autouse=True)
def private_data_home(tmp_path_factory, monkeypatch):
    """Sessions that tests record (and `flutex demo` run by a test) go to a temporary folder, not the user's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))


@pytest_asyncio.fixture
async def board():
    async with simulation() as sim_board:
        yield sim_board


@pytest_asyncio.fixture
async def client(board):
    device = DeviceClient(SerialTransport(board.port))
    await device.connect()
    yield device
    await device.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A progress store: SQLite in a temporary folder, then PostgreSQL in a fresh schema (skipped when no server is
    configured, failed in CI)."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'progress.db'}"
    else:
        from test_progress_store import postgres_schema_url

        yield from postgres_schema_url()


@pytest.fixture(scope="session")
def lesson_recording(tmp_path_factory) -> Path:
    """A recording of a short simulated lesson (the quick learner, guidance fading), made once by the real
    `flutex lesson` on the simulator and shared by the view's and the report's tests."""
    folder = tmp_path_factory.mktemp("lesson-recording")
    command = [
        sys.executable, "-m", "flutex.host.cli", "lesson", "first_lesson", "--device", "sim://?student=3&learner=quick",
        "--student", "demo", "--no-store", "--minutes", "0.3", "--sessions-dir", str(folder), "--quiet",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    (path,) = folder.glob("*.mcap")
    return path
