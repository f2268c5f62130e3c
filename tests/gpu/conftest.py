"""GPU tests: collected by every run, skipped without CUDA (CI is CPU-only); ``make test-gpu`` runs them.

``UASBENCH_GPU_TEST_DEVICE=cpu`` runs them against the CPU instead, which checks the tests' own code paths on a
machine without a GPU (the comparisons are then trivially CPU against CPU).
"""

from __future__ import annotations

import os

import pytest
import torch


def gpu_device() -> torch.device | None:
    """The device under test, or None when there is none."""
    wanted = os.environ.get("UASBENCH_GPU_TEST_DEVICE")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda") if torch.cuda.is_available() else None


def pytest_collection_modifyitems(config, items) -> None:
    here = os.path.dirname(__file__)
    skip = pytest.mark.skip(reason="no CUDA device (set UASBENCH_GPU_TEST_DEVICE=cpu to exercise the tests on CPU)")
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.gpu)
            if gpu_device() is None:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def device() -> torch.device:
    found = gpu_device()
    assert found is not None  # the collection hook skipped every test otherwise
    return found


@pytest.fixture(autouse=True)
def strict_fp32():
    """fp32 means fp32 here: cuDNN's default TF32 convolutions would differ from the CPU by ~1e-3."""
    if not torch.cuda.is_available():
        yield
        return
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
