"""Classic kernels, seeded random weights and the typed-in kernel grid."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from cnnviz.explorer import kernels


@pytest.mark.parametrize("name", kernels.PRESETS)
def test_every_preset_exists_at_3x3_and_larger_sizes(name):
    for size in [(3, 3), (5, 5), (4, 6)]:
        kernel = kernels.preset_kernel(name, size)
        assert kernel.shape == size and kernel.dtype == np.float32
    assert name in kernels.DESCRIPTIONS


def test_blurs_keep_brightness_and_edge_detectors_ignore_flat_areas():
    for name in (kernels.BOX, kernels.GAUSSIAN, kernels.IDENTITY):
        assert kernels.preset_kernel(name, (5, 5)).sum() == pytest.approx(1.0)
    for name in (kernels.SOBEL_X, kernels.SOBEL_Y, kernels.LAPLACIAN):
        assert kernels.preset_kernel(name, (3, 3)).sum() == pytest.approx(0.0)
    gaussian = kernels.preset_kernel(kernels.GAUSSIAN, (5, 5))
    assert gaussian[2, 2] == gaussian.max() and gaussian[0, 0] == gaussian.min()


def test_sobel_x_responds_to_a_vertical_edge_and_not_a_horizontal_one():
    image = torch.zeros(1, 1, 8, 8)
    image[..., 4:] = 1.0  # dark left, bright right: a vertical edge
    sobel_x = torch.from_numpy(kernels.preset_kernel(kernels.SOBEL_X, (3, 3)))[None, None]
    sobel_y = torch.from_numpy(kernels.preset_kernel(kernels.SOBEL_Y, (3, 3)))[None, None]
    assert F.conv2d(image, sobel_x).abs().max() == 4.0
    assert F.conv2d(image, sobel_y).abs().max() == 0.0


def test_larger_kernels_embed_the_classic_one_at_the_centre_and_compute_the_same():
    image = torch.rand(1, 1, 12, 12)
    small = torch.from_numpy(kernels.preset_kernel(kernels.LAPLACIAN, (3, 3)))[None, None]
    large = torch.from_numpy(kernels.preset_kernel(kernels.LAPLACIAN, (5, 5)))[None, None]
    assert torch.allclose(F.conv2d(image, small, padding=1), F.conv2d(image, large, padding=2), atol=1e-6)


def test_classic_kernels_refuse_sizes_below_3_and_unknown_names():
    with pytest.raises(kernels.KernelError, match="too small"):
        kernels.preset_kernel(kernels.SOBEL_X, (2, 3))
    with pytest.raises(kernels.KernelError, match="unknown kernel preset"):
        kernels.preset_kernel("blur-ish", (3, 3))
    assert kernels.preset_kernel(kernels.IDENTITY, (1, 1)).tolist() == [[1.0]]


def test_random_weights_are_reproducible_and_leave_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    w1, b1 = kernels.random_conv(3, 4, (5, 5), seed=9)
    after = torch.rand(1)
    assert torch.equal(before, after)
    w2, b2 = kernels.random_conv(3, 4, (5, 5), seed=9)
    assert torch.equal(w1, w2) and torch.equal(b1, b2)
    assert tuple(w1.shape) == (4, 3, 5, 5)
    wt, _ = kernels.random_conv(4, 6, (3, 3), groups=2, transposed=True)
    assert tuple(wt.shape) == (4, 3, 3, 3)


def test_typed_grid_reads_numbers_treats_blanks_as_zero_and_refuses_the_rest():
    grid = kernels.parse_kernel_grid([[1, "2", None], ["", float("nan"), "-0.5"]], (2, 3))
    assert grid.tolist() == [[1.0, 2.0, 0.0], [0.0, 0.0, -0.5]]
    with pytest.raises(kernels.KernelError, match=r"cell \(0, 1\)"):
        kernels.parse_kernel_grid([[1, "x"]], (1, 2))
    with pytest.raises(kernels.KernelError, match="finite"):
        kernels.parse_kernel_grid([["inf"]], (1, 1))
    with pytest.raises(kernels.KernelError, match="2 x 2"):
        kernels.parse_kernel_grid([[1, 2]], (2, 2))
