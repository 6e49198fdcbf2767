"""Device choice and the thread count of interactive work."""

import torch

from cnnviz.device import one_thread, pick_device


def test_pick_device_prefers_what_is_asked_then_cuda_then_cpu():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_one_thread_lowers_the_count_inside_and_restores_it():
    torch.set_num_threads(2)
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
