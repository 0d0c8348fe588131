"""CUDA parity: the torch stages graded on a GPU give exactly the verdicts they give on the CPU.

The suites take the `device` fixture, so `grader grade --device cuda` runs the learners' code and
the suites' references on the GPU. Skipped where torch sees no CUDA device.
"""

from __future__ import annotations

import pytest
import torch

from grader.engine import curriculum
from grader.engine.data import GradeReport
from grader.engine.runner import grade
from tests.conftest import SOLUTIONS

TORCH_STAGES = ["deep-learning", "llm", "competition"]


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("stage", TORCH_STAGES)
def test_cuda_grades_exactly_like_the_cpu(stage: str, solution_reports: dict[str, GradeReport]) -> None:
    exercises = list(curriculum.stage(stage).exercises)
    on_gpu = grade(exercises, SOLUTIONS, device="cuda")
    on_cpu = solution_reports[stage]
    for gpu_ex, cpu_ex in zip(on_gpu.exercises, on_cpu.exercises, strict=True):
        gpu_verdicts = [(t.name, t.status, t.points) for t in gpu_ex.tests]
        cpu_verdicts = [(t.name, t.status, t.points) for t in cpu_ex.tests]
        assert gpu_verdicts == cpu_verdicts, [t.message for t in gpu_ex.tests if t.message]
    assert on_gpu.percent == on_cpu.percent == 100.0
