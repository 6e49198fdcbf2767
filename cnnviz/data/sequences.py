"""Real 1-D inputs for 1-D convolutions: DNA one-hot encoded as 4 channels, and signals.

The lab introduces convolution on a sequence before images: every base of a
DNA sequence is a position, its one-hot encoding the 4 channels (A, C, G, T),
and a kernel of ``k`` positions slides along it. A motif-detector kernel
scores ``+1`` for each base that matches the motif and ``-1`` for each that
does not, so its output is ``matches - mismatches``: exactly the motif's
length where the motif occurs, less anywhere else.

Signals are one channel: a noisy sine and a heartbeat-like trace, made from
a seeded local :class:`numpy.random.Generator` (nothing global is touched),
with smoothing and edge kernels. Everything is ``float32``, shapes ``(C, L)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from cnnviz.device import one_thread
from cnnviz.layers import arithmetic

BASES = "ACGT"  # channel order of the one-hot encoding
MAX_LENGTH = 5000  # longest sequence or signal accepted (typed or generated)

TATA = "TATAAA"  # the TATA box consensus core, found about 25-35 bases upstream of many eukaryotic genes
MOTIFS = {
    "TATA box (TATAAA)": TATA,
    "CAAT box (CCAAT)": "CCAAT",
    "GC box (GGGCGG)": "GGGCGG",
}

# Made-up example sequences (not from a genome), each holding the motif its name says, at a known place.
SHIPPED_DNA = {
    "promoter-like, one TATA box": "GCGTCAGGCTTCAGCGCATGCCGTTATAAAGGCGCTCAGTCCAGGATCGACTGCATGCAATCGG",
    "two TATA boxes": "CCGATATAAAGCTCGGCTAGCGATCGCTTAGCCGCGATGCTATAAAGCCG",
    "no TATA box": "GCGCCGGCATCGACGTAGCTAGCGCTAGGCTCGATCGTCGGCGATCGCAGCTAG",
    "CAAT and GC boxes": "ATGCCAATCGTAGCTAGGGCGGATCGTAGCTAGCTAGGATCCAATGCTA",
}


class SequenceError(ValueError):
    """A sequence or signal that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class SequenceInput:
    """A 1-D input ready for a 1-D layer."""

    values: np.ndarray  # (C, L) float32
    channel_names: tuple[str, ...]  # one per channel ("A", "C", "G", "T"; or "signal")
    position_labels: tuple[str, ...] | None  # one per position (the bases), None for signals
    description: str  # what it is, in one line


# --- DNA ---------------------------------------------------------------------------------


def clean_dna(text: str) -> str:
    """Upper-case bases with spaces, line breaks and digits (as in FASTA / GenBank listings) removed.

    Raises:
        SequenceError: for letters other than A, C, G, T and N, naming them and where they are.
    """
    letters = "".join(ch for ch in text.upper() if not ch.isspace() and not ch.isdigit())
    if letters.startswith(">"):
        raise SequenceError("That looks like a FASTA header line (starting with >): paste only the bases.")
    bad = sorted({ch for ch in letters if ch not in BASES + "N"})
    if bad:
        where = letters.index(bad[0]) + 1
        raise SequenceError(
            f"A DNA sequence holds only A, C, G, T (and N for unknown); found {', '.join(map(repr, bad))} "
            f"(first at position {where})."
        )
    if not letters:
        raise SequenceError("The sequence is empty: type some bases (A, C, G, T).")
    if len(letters) > MAX_LENGTH:
        raise SequenceError(f"The sequence has {len(letters):,} bases; at most {MAX_LENGTH:,} are shown.")
    return letters


def one_hot(dna: str) -> SequenceInput:
    """DNA as 4 channels: channel ``c`` is 1 where the base is ``BASES[c]`` (N: all four 0).

    Raises:
        SequenceError: for anything that is not a DNA sequence.
    """
    letters = clean_dna(dna)
    codes = np.frombuffer(letters.encode(), dtype=np.uint8)
    values = np.stack([codes == ord(base) for base in BASES]).astype(np.float32)  # (4, L)
    return SequenceInput(values, tuple(BASES), tuple(letters), f"{len(letters)} bases, one-hot: A, C, G, T")


def motif_kernel(motif: str) -> np.ndarray:
    """The ``(4, k)`` kernel that scores ``+1`` per matching base and ``-1`` per other base of the motif."""
    letters = clean_dna(motif)
    if "N" in letters:
        raise SequenceError("A motif is made of A, C, G and T only.")
    kernel = -np.ones((4, len(letters)), dtype=np.float32)
    for position, base in enumerate(letters):
        kernel[BASES.index(base), position] = 1.0
    return kernel


def random_dna(length: int, seed: int, motif: str | None = None, at: int | None = None) -> str:
    """A random sequence of ``length`` bases from a local generator, with ``motif`` written at position ``at``."""
    rng = np.random.default_rng(seed)
    letters = list(rng.choice(list(BASES), size=length))
    if motif is not None:
        start = 0 if at is None else at
        if start < 0 or start + len(motif) > length:
            raise SequenceError(f"The motif ({len(motif)} bases) does not fit at {start} in {length} bases.")
        letters[start : start + len(motif)] = list(motif)
    return "".join(letters)


# --- signals -------------------------------------------------------------------------------


def _check_length(length: int) -> int:
    length = arithmetic.integer(length, "length")
    if not 8 <= length <= MAX_LENGTH:
        raise SequenceError(f"A signal is 8 to {MAX_LENGTH:,} samples long, not {length}.")
    return length


def noisy_sine(length: int = 200, periods: float = 3.0, noise: float = 0.3, seed: int = 0) -> SequenceInput:
    """``sin`` over ``periods`` periods plus Gaussian noise of standard deviation ``noise`` (seeded)."""
    length = _check_length(length)
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    clean = np.sin(2 * math.pi * periods * t)
    values = (clean + noise * rng.standard_normal(length)).astype(np.float32)[None]  # (1, L)
    return SequenceInput(values, ("signal",), None, f"sine, {periods:g} periods, noise {noise:g} (seed {seed})")


def _bump(t: np.ndarray, centre: float, width: float, height: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((t - centre) / width) ** 2)


def heartbeat(length: int = 300, beats: int = 4, noise: float = 0.04, seed: int = 0) -> SequenceInput:
    """A heartbeat-like trace: per beat a P wave, a sharp QRS complex and a T wave (Gaussian bumps), plus noise.

    Not a real ECG: the shapes and timings are only ECG-like, enough for edge
    kernels to find the steep QRS flanks and smoothing kernels to flatten the noise.
    """
    length = _check_length(length)
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    period = length / beats
    trace = np.zeros(length)
    for beat in range(beats):
        start = beat * period
        # (offset in the beat, width, height): P, Q, R, S, T; widths in samples scale with the beat's length
        for offset, width, height in ((0.2, 0.03, 0.15), (0.33, 0.008, -0.15), (0.35, 0.01, 1.0),
                                      (0.37, 0.008, -0.25), (0.6, 0.05, 0.3)):  # fmt: skip
            trace += _bump(t, start + offset * period, max(width * period, 0.8), height)
    values = (trace + noise * rng.standard_normal(length)).astype(np.float32)[None]  # (1, L)
    description = f"heartbeat-like trace, {beats} beats, noise {noise:g} (seed {seed})"
    return SequenceInput(values, ("signal",), None, description)


def r_peaks(length: int = 300, beats: int = 4) -> list[int]:
    """Where :func:`heartbeat` puts each beat's tall R wave (sample index)."""
    period = length / beats
    return [round(beat * period + 0.35 * period) for beat in range(beats)]


def _gaussian(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


SIGNAL_KERNELS = {
    "moving average (5)": np.full(5, 1 / 5, dtype=np.float32),
    "Gaussian smoothing (7, sigma 1.5)": _gaussian(7, 1.5),
    "edge: slope [-1, 0, 1]": np.array([-1.0, 0.0, 1.0], dtype=np.float32),
    "curvature [1, -2, 1]": np.array([1.0, -2.0, 1.0], dtype=np.float32),
}


# --- running a kernel ------------------------------------------------------------------------


def convolve(
    sequence: SequenceInput | np.ndarray,
    kernel: np.ndarray,
    stride: int = 1,
    padding: int | str = 0,
    dilation: int = 1,
) -> np.ndarray:
    """One output channel of ``nn.Conv1d`` (no bias) with ``kernel`` on ``sequence``.

    Args:
        sequence: ``(C, L)`` values (or a :class:`SequenceInput`).
        kernel: ``(C, k)``, or ``(k,)`` applied to every channel.
        stride, padding, dilation: as ``nn.Conv1d`` (padding also "same" / "valid").

    Returns:
        ``(L_out,)`` float32, ``L_out`` from :func:`cnnviz.layers.arithmetic.conv1d_output_size`.

    Raises:
        arithmetic.InvalidLayerConfig: where PyTorch would refuse the layer.
    """
    values = sequence.values if isinstance(sequence, SequenceInput) else np.asarray(sequence, dtype=np.float32)
    weights = np.asarray(kernel, dtype=np.float32)
    if weights.ndim == 1:
        weights = np.broadcast_to(weights, (values.shape[0], weights.shape[0]))
    if weights.shape[0] != values.shape[0]:
        raise SequenceError(f"The kernel has {weights.shape[0]} channel(s), but the sequence has "
                            f"{values.shape[0]} channels: give one kernel row per channel.")  # fmt: skip
    length = arithmetic.conv1d_output_size(values.shape[1], weights.shape[1], stride, padding, dilation)
    with one_thread(), torch.no_grad():
        x = torch.tensor(values)[None]  # (1, C, L), a copy: the inputs may be read-only views
        w = torch.tensor(weights)[None]  # (1, C, k): one output channel
        out = F.conv1d(x, w, None, stride, padding, dilation)  # (1, 1, L_out)
    result = out[0, 0].numpy()
    assert result.shape == (length,), (result.shape, length)  # the arithmetic and PyTorch agree
    return result
