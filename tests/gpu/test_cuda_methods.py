"""Every registered method gives the same maps on the GPU as on the CPU (fp32), and bf16 stays close to fp32."""

from __future__ import annotations

import copy

import pytest
import torch

from tests.fixtures.method_options import OPTIONS, SIZE
from uasbench.methods import list_methods
from uasbench.methods.registry import create

#: fp32 CPU vs CUDA: same math, different kernels and summation orders
FP32_ATOL = 1e-4
#: bf16 autocast vs fp32, relative to the map's magnitude (MetaUAS maps lie in [0, 1]; OneNIP's raw reconstruction
#: maps do not): bf16 keeps 8 mantissa bits (0.4 %); ~2e-3 was measured for MetaUAS b4 at 256 px on an H200
BF16_RTOL = 2e-2


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(4, 3, SIZE, SIZE, generator=generator), torch.rand(4, 3, SIZE, SIZE, generator=generator)


def _predict(method, queries: torch.Tensor, normals: torch.Tensor, device: torch.device):
    method.to(device)
    chosen = normals[:max(1, method.shots or 1)].to(device)
    method.fit(chosen if method.shots else None, "bottle")
    prompts = method.prompts_for(chosen, len(queries)) if method.shots else None
    maps, scores = method.predict(queries.to(device), prompts, category="bottle")
    return maps.float().cpu(), scores.float().cpu()


def test_every_registered_method_is_covered():
    assert sorted(OPTIONS) == list_methods()


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_device_fp32_maps_equal_the_cpu_maps(name, images, device):
    queries, normals = images
    torch.manual_seed(0)
    on_cpu = create(name, **OPTIONS[name])
    on_device = copy.deepcopy(on_cpu)
    cpu_maps, cpu_scores = _predict(on_cpu, queries, normals, torch.device("cpu"))
    maps, scores = _predict(on_device, queries, normals, device)
    scale = max(1.0, float(cpu_maps.abs().max()))  # PatchCore's squared distances are not in [0, 1]
    torch.testing.assert_close(maps, cpu_maps, rtol=0, atol=FP32_ATOL * scale)
    torch.testing.assert_close(scores, cpu_scores, rtol=0, atol=FP32_ATOL * scale)


@pytest.mark.parametrize("variant", ["bf16", "bf16+cl", "fp32+cl"])
@pytest.mark.parametrize("name", ["metauas", "onenip"])
def test_execution_variants_stay_close_to_fp32(name, variant, images, device):
    """bf16 autocast within BF16_RTOL; channels_last alone changes only kernels (fp32 tolerance). ``+compile`` is
    left to ``uasbench bench precision`` (a compile takes a minute), which reports its difference."""
    from uasbench.precision import Execution

    queries, normals = images
    torch.manual_seed(0)
    method = create(name, **OPTIONS[name])
    fp32_maps, _ = _predict(method, queries, normals, device)
    execution = Execution.parse(variant)
    with execution.applied(method, device):
        maps, _ = _predict(method, execution.inputs(queries), execution.inputs(normals), device)
    assert maps.dtype == torch.float32 and torch.isfinite(maps).all()
    scale = max(1.0, float(fp32_maps.abs().max()))
    tolerance = BF16_RTOL if execution.precision == "bf16" else FP32_ATOL
    assert float((maps - fp32_maps).abs().max()) <= tolerance * scale
