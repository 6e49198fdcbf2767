"""1-D inputs: DNA one-hot, the motif detector peaking on its motif, seeded signals with their kernels."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.data import sequences
from cnnviz.data.sequences import SequenceError
from cnnviz.layers.arithmetic import InvalidLayerConfig


def test_one_hot_has_one_channel_per_base_and_n_is_all_zero():
    x = sequences.one_hot("acg tN\n12 T")
    assert x.values.shape == (4, 6) and x.values.dtype == np.float32
    assert x.position_labels == tuple("ACGTNT")
    assert x.values[:, 0].tolist() == [1, 0, 0, 0] and x.values[:, 3].tolist() == [0, 0, 0, 1]
    assert x.values[:, 4].tolist() == [0, 0, 0, 0]
    assert x.values.sum(axis=0).tolist() == [1, 1, 1, 1, 0, 1]


@pytest.mark.parametrize(
    ("text", "words"),
    [("ACGU", ["'U'", "position 4"]), ("", ["empty"]), (">chr1\nACGT", ["FASTA"]), ("A" * 5001, ["at most 5,000"])],
)
def test_what_is_not_dna_is_refused_with_a_reason(text, words):
    with pytest.raises(SequenceError) as error:
        sequences.one_hot(text)
    for word in words:
        assert word in str(error.value)


@pytest.mark.parametrize("seed", range(5))
def test_the_tata_detector_peaks_exactly_where_the_motif_is(seed):
    rng = np.random.default_rng(100 + seed)
    at = int(rng.integers(0, 94))
    dna = sequences.random_dna(100, seed, motif=sequences.TATA, at=at)
    scores = sequences.convolve(sequences.one_hot(dna), sequences.motif_kernel(sequences.TATA))
    assert scores.shape == (95,)  # valid padding: 100 - 6 + 1
    assert scores[at] == 6.0  # every base matches
    others = [i for i in range(95) if dna[i : i + 6] != sequences.TATA]
    assert scores[others].max() < 6.0  # one mismatch costs 2
    # The real layer agrees: nn.Conv1d with the preset as its weight.
    conv = nn.Conv1d(4, 1, 6, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(sequences.motif_kernel(sequences.TATA))[None])
        torch.testing.assert_close(conv(torch.from_numpy(sequences.one_hot(dna).values)[None])[0, 0],
                                   torch.from_numpy(scores))  # fmt: skip


def test_shipped_examples_hold_the_motifs_their_names_say():
    tata = sequences.motif_kernel(sequences.TATA)
    for name, dna in sequences.SHIPPED_DNA.items():
        scores = sequences.convolve(sequences.one_hot(dna), tata, padding="same")
        assert len(scores) == len(dna)
        peaks = [int(i) for i in np.flatnonzero(scores == 6.0)]
        starts = [i for i in range(len(dna)) if dna.startswith(sequences.TATA, i)]
        assert peaks == [s + 2 for s in starts]  # "same" pads 2 before a 6-base kernel
        expected = {"one TATA box": 1, "two TATA boxes": 2, "no TATA box": 0}
        for words, count in expected.items():
            if words in name:
                assert len(starts) == count
    caat = sequences.convolve(sequences.one_hot(sequences.SHIPPED_DNA["CAAT and GC boxes"]),
                              sequences.motif_kernel("CCAAT"))  # fmt: skip
    assert (caat == 5).sum() == 2


def test_signals_are_seeded_by_a_local_generator():
    state = np.random.get_state()[1].copy()
    torch_state = torch.random.get_rng_state().clone()
    a, b = sequences.noisy_sine(seed=3), sequences.noisy_sine(seed=3)
    assert np.array_equal(a.values, b.values)
    assert not np.array_equal(a.values, sequences.noisy_sine(seed=4).values)
    assert np.array_equal(sequences.heartbeat(seed=1).values, sequences.heartbeat(seed=1).values)
    assert np.array_equal(np.random.get_state()[1], state)  # the global generators are untouched
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert a.values.shape == (1, 200) and a.values.dtype == np.float32


def test_smoothing_kernels_remove_noise_from_the_sine():
    noisy = sequences.noisy_sine(400, periods=2, noise=0.3, seed=0)
    clean = sequences.noisy_sine(400, periods=2, noise=0.0).values[0]
    for name in ("moving average (5)", "Gaussian smoothing (7, sigma 1.5)"):
        smooth = sequences.convolve(noisy, sequences.SIGNAL_KERNELS[name], padding="same")
        assert np.std(smooth - clean) < 0.6 * np.std(noisy.values[0] - clean), name


def test_the_edge_kernel_finds_the_steep_flanks_of_each_heartbeat():
    trace = sequences.heartbeat(300, beats=4, seed=0)
    assert sorted(np.argsort(trace.values[0])[-4:].tolist()) == sequences.r_peaks(300, 4)
    slope = sequences.convolve(trace, sequences.SIGNAL_KERNELS["edge: slope [-1, 0, 1]"], padding="same")
    steepest = np.argsort(np.abs(slope))[-8:]
    for peak in sequences.r_peaks(300, 4):
        assert any(abs(int(i) - peak) <= 3 for i in steepest)  # the flanks of every R wave


def test_convolve_refuses_what_conv1d_refuses():
    with pytest.raises(InvalidLayerConfig, match="larger than the padded input"):
        sequences.convolve(sequences.one_hot("ACG"), sequences.motif_kernel(sequences.TATA))
    with pytest.raises(SequenceError, match="4 channels"):
        sequences.convolve(sequences.one_hot("ACGTACGT"), np.ones((1, 3)))
