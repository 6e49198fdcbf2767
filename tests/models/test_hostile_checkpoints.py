"""Hostile checkpoints (issue 9, findings 1-3): every malformed file ends in one clear CheckpointError,
refused before anything big is built or unpacked, within a time and memory budget."""

from __future__ import annotations

import dataclasses
import io
import time
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnviz.views.model_sources as inference
from cnnviz.views.model_sources import load_checked
from models import (
    PRETRAINED_DIR,
    BackboneConfig,
    CheckpointError,
    ClassifierConfig,
    CNNClassifier,
    ConvAutoencoder,
    load_model,
)
from models import checkpoint as ckpt
from models.checkpoint import checkpoint_dict, max_unpacked_bytes, model_cost

SECONDS = 2.0  # the most one refusal may take
MEGABYTES = 150  # the most the process may grow while refusing one file


def resident_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def saved(data: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(data, buffer)
    return buffer.getvalue()


def with_config(**changes) -> bytes:
    """The default classifier's checkpoint with its config fields replaced (``backbone__x`` for the backbone)."""
    data = checkpoint_dict(CNNClassifier())
    for name, value in changes.items():
        if name.startswith("backbone__"):
            data["config"]["backbone"][name.removeprefix("backbone__")] = value
        else:
            data["config"][name] = value
    return saved(data)


def real(backbone: BackboneConfig, num_classes: int = 10) -> bytes:
    """A genuine checkpoint of a classifier that the draw page cannot feed."""
    return saved(checkpoint_dict(CNNClassifier(ClassifierConfig(backbone, num_classes))))


def refused_quickly(source: bytes, kind: str = "classifier", match: str | None = None) -> CheckpointError:
    before, started = resident_mb(), time.perf_counter()
    with pytest.raises(CheckpointError, match=match) as caught:
        load_checked(source, kind)
    assert time.perf_counter() - started < SECONDS
    assert resident_mb() - before < MEGABYTES
    return caught.value


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"backbone__channels": [1, 4096, 4096]}, "channels is 4096; cnnviz accepts 1 to 512"),
        ({"backbone__input_size": 100_000}, "input_size is 100000"),
        ({"num_classes": 10**9}, "num_classes is 1000000000"),
        ({"backbone__blocks_per_stage": 3000}, "blocks_per_stage is 3000"),
        ({"backbone__channels": [512, 512, 512], "backbone__kernel_size": 15}, "parameters; this server accepts"),
        ({"backbone__channels": [128, 8, 8], "backbone__kernel_size": 5}, "million multiply-adds per image"),
    ],
)
def test_oversized_configs_are_refused_before_anything_is_built(changes, words, monkeypatch):
    source = with_config(**changes)
    build = CNNClassifier.__init__

    def only_on_meta(self, *args, **kwargs):  # counting on the meta device allocates nothing
        assert torch.get_default_device().type == "meta", "a model was built before its config was checked"
        build(self, *args, **kwargs)

    monkeypatch.setattr(CNNClassifier, "__init__", only_on_meta)
    refused_quickly(source, match=words)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (with_config(backbone__channels=["a"]), "channels must be a whole number, got 'a'"),
        (with_config(backbone__channels=[-5, 2, 2]), "channels is -5"),
        (with_config(backbone__kernel_size=0), "kernel_size is 0"),
        (with_config(backbone__dropout=float("nan")), "dropout must be a number in"),
        (with_config(backbone__channels=[8, 8, 8, 8, 8]), "kernel|larger|input"),  # 28 shrinks away
        (with_config(surprise=1), "unknown fields: surprise"),
        (saved({"model": "classifier", "config": [1, 2], "state_dict": {}}), "config must be a mapping"),
        (saved({"model": ["classifier"], "config": {}, "state_dict": {}}), "unknown model kind"),
        (saved({**checkpoint_dict(CNNClassifier()), "state_dict": [1, 2]}), "must map names to tensors"),
        (real(BackboneConfig(in_channels=3)), "reads 3-channel 28 x 28 images; the draw page needs one grey"),
        (real(BackboneConfig(input_size=32)), "reads 1-channel 32 x 32 images; the draw page needs one grey"),
        (real(BackboneConfig(), num_classes=7), "has 7 classes; the draw page needs the 10 digits"),
    ],
)
def test_malformed_checkpoints_end_in_one_clear_message(source, words):
    refused_quickly(source, match=words)


def zip_with(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def archive_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_a_zip_bomb_is_refused_from_its_declared_sizes_before_torch_load(monkeypatch):
    entries = archive_entries(saved(checkpoint_dict(CNNClassifier())))
    bomb = zip_with({**entries, "archive/data/999": bytes(max_unpacked_bytes() + 2**20)})
    assert len(bomb) < 2**20  # a small upload ...

    def never(*args, **kwargs):
        raise AssertionError("torch.load ran on a zip bomb")

    monkeypatch.setattr(ckpt.torch, "load", never)
    refused_quickly(bomb, match="would unpack to")


def test_an_oversized_object_list_or_too_many_entries_are_refused():
    big_pickle = zip_with({"archive/data.pkl": bytes(ckpt.MAX_PICKLE_BYTES + 1)})
    refused_quickly(big_pickle, match="object list")
    many = zip_with({f"archive/data/{i}": b"" for i in range(ckpt.MAX_ARCHIVE_ENTRIES + 1)}, zipfile.ZIP_STORED)
    refused_quickly(many, match="holds 10,001 files")


def test_a_deflated_but_honest_archive_still_loads():
    """Re-zipped with compression (some tools do): declared sizes are small, and the model is read."""
    entries = archive_entries(saved(checkpoint_dict(CNNClassifier())))
    assert isinstance(load_model(zip_with(entries)), CNNClassifier)


def test_a_refusal_is_remembered_so_a_bad_file_is_not_read_on_every_pen_stroke(monkeypatch):
    source = with_config(backbone__input_size=32)
    first = refused_quickly(source)
    calls = []
    monkeypatch.setattr(inference, "load_model", lambda *a: calls.append(a))
    with pytest.raises(CheckpointError) as again:
        load_checked(source, "classifier")
    assert str(again.value) == str(first) and calls == []


def test_the_shipped_models_fit_the_limits_with_room():
    for kind in ("classifier", "autoencoder"):
        model = load_checked(PRETRAINED_DIR / f"{kind}.pt", kind)
        cost = model_cost(kind, model.config)
        assert cost.parameters == sum(p.numel() for p in model.parameters())
        assert cost.parameters * 20 < ckpt.max_parameters() and cost.macs_per_image * 20 < ckpt.max_macs()


def test_the_limits_follow_the_teachers_environment(monkeypatch):
    source = saved(checkpoint_dict(CNNClassifier()))
    monkeypatch.setenv("CNNVIZ_MAX_PARAMETERS", "30000")
    with pytest.raises(CheckpointError, match="37,914 parameters; this server accepts at most 30,000"):
        load_model(source)
    monkeypatch.setenv("CNNVIZ_MAX_PARAMETERS", "40000")
    assert isinstance(load_model(source), CNNClassifier)


# --- generated files -------------------------------------------------------------------------------

anything = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
small_int = st.integers(-3, 40)


def field(plausible):
    return st.one_of(plausible, plausible, anything)


backbones = st.fixed_dictionaries(
    {},
    optional={
        "in_channels": field(st.integers(0, 5)),
        "input_size": field(st.sampled_from([0, 1, 8, 27, 28, 29, 64, 300, 10**6])),
        "channels": field(st.lists(st.integers(-2, 600), min_size=0, max_size=7)),
        "blocks_per_stage": field(small_int),
        "kernel_size": field(st.integers(-1, 17)),
        "dropout": field(st.floats(-1, 2)),
    },
)
configs = st.fixed_dictionaries(
    {"backbone": st.one_of(backbones, backbones, anything)},
    optional={"num_classes": field(st.integers(-1, 2000)), "bottleneck_channels": field(small_int)},
)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(source: bytes, kind: str) -> torch.nn.Module | None:
    """The model if the file is usable on the draw page; None after a CheckpointError (nothing else may escape)."""
    started = time.perf_counter()
    try:
        return load_checked(source, kind)
    except CheckpointError as error:
        assert str(error), "a refusal must say why"
        return None
    finally:
        assert time.perf_counter() - started < SECONDS


@FAST
@given(kind=st.sampled_from(["classifier", "autoencoder", "other"]), config=st.one_of(configs, anything))
def test_generated_configs_load_or_are_refused_clearly(kind, config):
    source = saved({"model": kind, "config": config, "state_dict": {}})
    assert outcome(source, "classifier") is None  # no weights: never usable, whatever the config


@settings(FAST, max_examples=15)
@given(data=st.data())
def test_generated_state_dicts_load_only_when_every_tensor_fits(data):
    model = CNNClassifier(ClassifierConfig()) if data.draw(st.booleans()) else ConvAutoencoder()
    kind = ckpt.model_kind(model)
    state = dict(model.state_dict())
    names = sorted(n for n in state if not n.endswith("num_batches_tracked"))  # PyTorch fills a missing one in
    for name in data.draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
        change = data.draw(st.sampled_from(["drop", "shape", "dtype", "rename", "scalar"]))
        if change == "drop":
            del state[name]
        elif change == "shape":
            state[name] = torch.zeros(*(s + 1 for s in state[name].shape), 1)
        elif change == "dtype":
            state[name] = state[name].to(data.draw(st.sampled_from([torch.complex64, torch.bool, torch.int8])))
        elif change == "rename":
            state[name + "_x"] = state.pop(name)
        else:
            state[name] = 3
    loaded = outcome(saved({**checkpoint_dict(model), "state_dict": state}), kind)
    fits = state.keys() == model.state_dict().keys() and all(
        isinstance(v, torch.Tensor) and v.shape == model.state_dict()[k].shape and v.is_floating_point()
        for k, v in state.items()
        if not k.endswith("num_batches_tracked")
    )
    assert (loaded is not None) == fits


VALID = saved(checkpoint_dict(CNNClassifier()))


@FAST
@given(
    cut=st.integers(0, len(VALID)),
    flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)), max_size=4),
    rezip=st.sampled_from([None, zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
    extra=st.dictionaries(st.sampled_from(["archive/x", "archive/data/77", "../evil"]), st.binary(max_size=64)),
)
def test_generated_archive_layouts_load_or_are_refused_clearly(cut, flips, rezip, extra):
    data = bytearray(VALID)
    for position, mask in flips:
        data[position] ^= mask
    data = bytes(data[: max(cut, 1)])
    if rezip is not None:
        try:
            data = zip_with({**archive_entries(data), **extra}, rezip)
        except (zipfile.BadZipFile, ValueError, EOFError, OSError, RuntimeError, KeyError):
            pass  # not a zip any more: load it as it is
    loaded = outcome(data, "classifier")
    if loaded is not None:  # only a file that still holds the whole model may load
        assert dataclasses.asdict(loaded.config) == dataclasses.asdict(ClassifierConfig())
