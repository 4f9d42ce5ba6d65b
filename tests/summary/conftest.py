"""Fixtures for the summary tests: a fresh copy of the sample run per test."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from summary_sample import SAMPLE_DATA


@pytest.fixture
def data() -> dict[str, Any]:
    """A fresh deep copy, so a test may mutate it."""
    return copy.deepcopy(SAMPLE_DATA)
