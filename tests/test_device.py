"""Device choice and the thread count of interactive work."""

import torch

from cnnviz.device import model_device, one_thread, pick_device, to_model


def test_pick_device_prefers_what_is_asked_then_cuda_then_cpu():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_one_thread_lowers_the_count_inside_and_restores_it():
    torch.set_num_threads(2)
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_to_model_moves_image_batches_to_the_models_device_in_channels_last_layout():
    model = torch.nn.Conv2d(3, 4, 3)
    batch = torch.rand(2, 3, 8, 8)
    ready = to_model(batch, model)
    assert ready.device == model_device(model) and ready.is_contiguous(memory_format=torch.channels_last)
    assert not batch.is_contiguous(memory_format=torch.channels_last)  # a copy, the caller's tensor is untouched
    assert torch.equal(ready, batch)
    codes = torch.rand(5, 7)
    assert to_model(codes, model).is_contiguous()  # not images: only moved
    assert model_device(torch.nn.ReLU()) == torch.device("cpu")  # no parameters
