"""Shared fixtures for the models pipeline tests (run by tests/run.d/models.sh)."""

import os
import pathlib

import pytest

MODELS = pathlib.Path(__file__).resolve().parent.parent
ROOT = MODELS.parent

# Figures measured by the tests, printed at the end of the run (and quoted in models/README.md).
MEASURED: dict = {}


def shared_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("FACEID_SHARED_DIR") or ROOT.parent / "shared").resolve()


@pytest.fixture(scope="session")
def shared():
    return shared_dir()


@pytest.fixture(scope="session")
def mirror(shared):
    path = shared / "models"
    if not path.is_dir():
        pytest.skip(f"no model mirror at {path} (set FACEID_SHARED_DIR to the folder holding models/ and faces/)")
    return path


@pytest.fixture(scope="session")
def faces(shared):
    path = shared / "faces"
    if not path.is_dir():
        pytest.skip(f"no face photos at {path} (set FACEID_SHARED_DIR to the folder holding models/ and faces/)")
    return path


def pytest_terminal_summary(terminalreporter):
    if MEASURED:
        terminalreporter.section("models: measured")
        for key, value in MEASURED.items():
            terminalreporter.write_line(f"{key}: {value}")
