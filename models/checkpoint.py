"""Checkpoints that rebuild their model alone, from plain types and tensors only.

A checkpoint is a dict ``{"model": "classifier" | "autoencoder", "config":
dataclasses.asdict(config), "state_dict": ...}`` (training adds resume state).
It is read with ``torch.load(..., weights_only=True)``, which refuses pickled
code, so a hostile file cannot run anything.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnviz.files import atomic_torch_save
from models.autoencoder import AutoencoderConfig, ConvAutoencoder
from models.backbone import BackboneConfig, backbone_output_shape, stage_sizes
from models.classifier import ClassifierConfig, CNNClassifier

MODEL_KINDS: dict[str, tuple[type, type[nn.Module]]] = {
    "classifier": (ClassifierConfig, CNNClassifier),
    "autoencoder": (AutoencoderConfig, ConvAutoencoder),
}


class CheckpointError(ValueError):
    """A file that is not a usable cnnviz checkpoint; the message says why."""


def _env_int(name: str, default: int) -> int:
    """A positive whole number from the environment (a teacher's override), else ``default``."""
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


MAX_PARAMETERS_ENV = "CNNVIZ_MAX_PARAMETERS"
DEFAULT_MAX_PARAMETERS = 2_000_000  # 8 MB of float32 weights; the lab's classifier has 37,914
MAX_MACS_ENV = "CNNVIZ_MAX_MEGAMACS"
DEFAULT_MAX_MEGAMACS = 300  # multiply-accumulates per 28 x 28 image, in millions (the lab's: 5.6)
# Shape limits checked before anything is built: far above anything the Train page offers,
# far below what would take the server's memory or minutes of CPU.
MAX_STAGES = 6  # backbone stages (each halves the image: 28 -> 14 -> 7 -> 3 -> 1)
MAX_CHANNELS = 512  # channels of one stage, or of the bottleneck
MAX_BLOCKS = 8  # residual blocks per stage
MAX_KERNEL = 15  # kernel size of every convolution
MAX_IN_CHANNELS = 4  # grey, RGB, RGBA
MAX_INPUT_SIZE = 256  # height = width of the input image
MAX_CLASSES = 1000  # outputs of the classifier's head
MAX_ARCHIVE_ENTRIES = 10_000  # files inside one checkpoint archive (a model has a few hundred)
MAX_PICKLE_BYTES = 4 * 2**20  # the archive's data.pkl: names and numbers only, a few kB in practice


def max_parameters() -> int:
    """The parameter budget for a checkpoint (and for the Train page's form): ``$CNNVIZ_MAX_PARAMETERS``."""
    return _env_int(MAX_PARAMETERS_ENV, DEFAULT_MAX_PARAMETERS)


def max_macs() -> int:
    """Multiply-accumulates allowed per image: ``$CNNVIZ_MAX_MEGAMACS`` million (default 300)."""
    return _env_int(MAX_MACS_ENV, DEFAULT_MAX_MEGAMACS) * 1_000_000


def max_unpacked_bytes() -> int:
    """The most bytes a checkpoint may unpack to: weights plus an optimizer's two moments, and slack.

    Derived from :func:`max_parameters`, so every run the Train page allows can be read back.
    """
    return max_parameters() * 4 * 4 + 16 * 2**20


def max_file_bytes() -> int:
    """The largest checkpoint file accepted (torch.save stores tensors uncompressed, so the same)."""
    return max_unpacked_bytes()


def model_kind(model: nn.Module) -> str:
    for kind, (_, cls) in MODEL_KINDS.items():
        if isinstance(model, cls):
            return kind
    raise TypeError(f"not a cnnviz model: {type(model).__name__}")


def _whole_number(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CheckpointError(f"the checkpoint's {name} must be a whole number, got {value!r:.60}.")
    if not low <= value <= high:
        raise CheckpointError(f"the checkpoint's {name} is {value}; cnnviz accepts {low} to {high}.")
    return value


def _backbone_fields(raw: Any) -> dict[str, Any]:
    if isinstance(raw, BackboneConfig):
        raw = dataclasses.asdict(raw)
    if not isinstance(raw, dict):
        raise CheckpointError(f"the checkpoint's backbone config must be a mapping, got {type(raw).__name__}.")
    known = {f.name for f in dataclasses.fields(BackboneConfig)}
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise CheckpointError(f"the checkpoint's backbone config has unknown fields: {', '.join(unknown)[:200]}.")
    fields = dict(raw)
    channels = fields.get("channels", BackboneConfig.channels)
    if not isinstance(channels, (list, tuple)) or not 1 <= len(channels) <= MAX_STAGES:
        raise CheckpointError(f"the checkpoint's channels must be a list of 1 to {MAX_STAGES} whole numbers.")
    fields["channels"] = tuple(_whole_number(c, "channels", 1, MAX_CHANNELS) for c in channels)
    limits = {
        "in_channels": (1, MAX_IN_CHANNELS),
        "input_size": (1, MAX_INPUT_SIZE),
        "blocks_per_stage": (0, MAX_BLOCKS),
        "kernel_size": (1, MAX_KERNEL),
    }
    for name, (low, high) in limits.items():
        if name in fields:
            fields[name] = _whole_number(fields[name], name, low, high)
    if "dropout" in fields:
        dropout = fields["dropout"]
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise CheckpointError(f"the checkpoint's dropout must be a number in [0, 1), got {dropout!r:.60}.")
    return fields


def parse_config(kind: Any, config: Any) -> ClassifierConfig | AutoencoderConfig:
    """The config dataclass of a ``kind`` model from a checkpoint's plain ``config``, checked field by field.

    Nothing is built: types and ranges are checked against the limits above, then the
    shape arithmetic of :mod:`cnnviz.layers.arithmetic` (an image that shrinks away is refused).

    Raises:
        CheckpointError: the kind or any field is wrong (the message names it).
    """
    if not isinstance(kind, str) or kind not in MODEL_KINDS:
        raise CheckpointError(f"unknown model kind {kind!r:.60}; expected one of {sorted(MODEL_KINDS)}.")
    config_cls, _ = MODEL_KINDS[kind]
    if isinstance(config, config_cls):
        config = dataclasses.asdict(config)
    if not isinstance(config, dict):
        raise CheckpointError(f"the checkpoint's {kind} config must be a mapping, got {type(config).__name__}.")
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(str(k) for k in config if k not in known)
    if unknown:
        raise CheckpointError(f"the checkpoint's {kind} config has unknown fields: {', '.join(unknown)[:200]}.")
    fields = dict(config)
    backbone = _backbone_fields(fields.get("backbone", {}))
    if "num_classes" in fields:
        fields["num_classes"] = _whole_number(fields["num_classes"], "num_classes", 1, MAX_CLASSES)
    if "bottleneck_channels" in fields:
        fields["bottleneck_channels"] = _whole_number(
            fields["bottleneck_channels"], "bottleneck_channels", 1, MAX_CHANNELS
        )
    try:
        fields["backbone"] = BackboneConfig(**backbone)
        parsed = config_cls(**fields)
        backbone_output_shape(parsed.backbone)  # the image must survive every stage's pooling
    except (TypeError, ValueError) as error:  # InvalidLayerConfig is a ValueError
        fix = getattr(error, "fix", None)
        raise CheckpointError(
            f"the checkpoint's {kind} config is not valid: {error}" + (f" Fix: {fix}" if fix else "")
        ) from None
    return parsed


@dataclasses.dataclass(frozen=True)
class ModelCost:
    """What a model would cost, counted without building it for real."""

    parameters: int  # trainable numbers
    macs_per_image: int  # multiply-accumulates of the convolutions and linear layers for one image
    activations_per_image: int  # values every layer outputs for one image (kept for backward in training)

    @property
    def weight_bytes(self) -> int:
        """float32 bytes of the weights alone (a model-only checkpoint)."""
        return 4 * self.parameters


@functools.lru_cache(maxsize=256)
def _cost(kind: str, config: ClassifierConfig | AutoencoderConfig) -> ModelCost:
    _, model_cls = MODEL_KINDS[kind]
    with torch.device("meta"):  # shapes only: a 61 M-parameter model costs no memory here
        parameters = sum(p.numel() for p in model_cls(config).parameters() if p.requires_grad)
    backbone = config.backbone
    k2 = backbone.kernel_size**2
    areas = [h * w for h, w in stage_sizes(backbone)]  # pixels of the input and after each stage
    widths = [backbone.in_channels, *backbone.channels]
    macs = 0
    activations = backbone.in_channels * areas[0]  # the normalised input
    for i in range(1, len(widths)):  # encoder stage i works at areas[i - 1], pools to areas[i]
        previous, width, area = widths[i - 1], widths[i], areas[i - 1]
        macs += (previous + backbone.blocks_per_stage * width) * width * k2 * area
        # conv and ReLU, then per block conv, ReLU, dropout and batch norm; then the pooled map
        activations += (2 + 4 * backbone.blocks_per_stage) * width * area + width * areas[i]
    if isinstance(config, ClassifierConfig):
        macs += widths[-1] * areas[-1] * config.num_classes
        return ModelCost(parameters, macs, activations + widths[-1] * areas[-1] + config.num_classes)  # flat, head
    code = config.bottleneck_channels
    macs += 2 * widths[-1] * code * areas[-1]  # the 1x1 bottleneck and the decoder's 1x1 expansion
    activations += code * areas[-1] + 2 * widths[-1] * areas[-1]
    for i in range(len(widths) - 1, 0, -1):  # decoder stage i unpools areas[i] -> areas[i - 1]
        previous, width, area = widths[i - 1], widths[i], areas[i - 1]
        macs += width * width * 4 * areas[i] + (backbone.blocks_per_stage * width + previous) * width * k2 * area
        activations += (2 + 4 * backbone.blocks_per_stage) * width * area + previous * area * (2 if i > 1 else 1)
    return ModelCost(parameters, macs, activations + backbone.in_channels * areas[0])  # + the sigmoid


def model_cost(kind: Any, config: Any) -> ModelCost:
    """Count parameters, work and activations of the model a config describes, without allocating it.

    The config is checked first (:func:`parse_config`); parameters are counted on PyTorch's
    ``meta`` device, work and activations from the shape arithmetic (cached per config).
    """
    return _cost(kind, parse_config(kind, config))


def check_budget(kind: Any, config: Any) -> ModelCost:
    """:func:`model_cost`, refusing a model over the parameter or work budget (the message says which)."""
    cost = model_cost(kind, config)
    if cost.parameters > max_parameters():
        raise CheckpointError(
            f"the model has {cost.parameters:,} parameters; this server accepts at most {max_parameters():,} "
            f"(the teacher can raise {MAX_PARAMETERS_ENV})."
        )
    if cost.macs_per_image > max_macs():
        raise CheckpointError(
            f"the model needs {cost.macs_per_image / 1e6:,.0f} million multiply-adds per image; this server "
            f"accepts at most {max_macs() / 1e6:,.0f} million (the teacher can raise {MAX_MACS_ENV})."
        )
    return cost


def build_model(kind: str, config: dict[str, Any] | object) -> nn.Module:
    """Build an untrained model of ``kind`` from a config dataclass or its ``asdict``.

    The config is validated and its cost counted on the meta device before any real
    memory is allocated.

    Raises:
        CheckpointError: an invalid config, or one over the server's budget.
    """
    parsed = parse_config(kind, config)
    check_budget(kind, parsed)
    _, model_cls = MODEL_KINDS[kind]
    return model_cls(parsed)


def checkpoint_dict(model: nn.Module, **extra: Any) -> dict[str, Any]:
    """The checkpoint of ``model``: kind, plain-dict config, state dict, and any ``extra`` entries."""
    return {
        "model": model_kind(model),
        "config": dataclasses.asdict(model.config),
        "state_dict": model.state_dict(),
        **extra,
    }


def save_checkpoint(model: nn.Module, path: str | os.PathLike, **extra: Any) -> None:
    """Write ``model``'s checkpoint atomically (a crash keeps the previous file)."""
    atomic_torch_save(checkpoint_dict(model, **extra), path)


def check_archive(source: str | os.PathLike | bytes) -> None:
    """Refuse a file before ``torch.load`` sees it: too big, not a zip archive, or one that unpacks too far.

    ``torch.save`` writes a zip archive of stored (uncompressed) entries; a deflated
    entry could expand a small upload into gigabytes (a zip bomb), so the sizes the
    archive declares are added up first. PyTorch's reader allocates exactly the
    declared size and fails if the data disagree, so a lying header gains nothing.

    Raises:
        CheckpointError: the reason, in words.
    """
    size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    if size > max_file_bytes():
        raise CheckpointError(
            f"the file is {size / 2**20:,.1f} MB; checkpoints here are at most {max_file_bytes() / 2**20:,.0f} MB."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else Path(source)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise CheckpointError(
            "this file is not a readable PyTorch checkpoint: it is not the zip archive torch.save writes "
            "(damaged, truncated, or another kind of file)."
        ) from None
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        raise CheckpointError(f"the archive holds {len(entries):,} files; a checkpoint has at most a few hundred.")
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > max_unpacked_bytes():
        raise CheckpointError(
            f"the archive would unpack to {unpacked / 2**20:,.0f} MB (a zip bomb?); checkpoints here unpack to "
            f"at most {max_unpacked_bytes() / 2**20:,.0f} MB."
        )
    pickles = [entry for entry in entries if entry.filename.endswith(".pkl")]
    if any(entry.file_size > MAX_PICKLE_BYTES for entry in pickles):
        raise CheckpointError(
            f"the archive's object list is over {MAX_PICKLE_BYTES // 2**20} MB; a checkpoint's is a few kB."
        )


def read_checkpoint(source: str | os.PathLike | bytes) -> dict[str, Any]:
    """Read a checkpoint file (path or raw bytes) safely; raise :class:`CheckpointError` if unusable.

    The archive is checked (:func:`check_archive`) before it is loaded, and loaded with
    ``weights_only=True``: plain types and tensors only.
    """
    try:
        check_archive(source)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {source}.") from None
    except OSError as error:
        raise CheckpointError(f"the checkpoint cannot be read: {error.strerror or error}.") from None
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
        data = torch.load(handle, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {source}.") from None
    except Exception as error:  # noqa: BLE001 - torch raises many types for bad files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            reason = "it contains pickled Python objects, which are refused because loading them could run code"
        raise CheckpointError(f"this file is not a readable PyTorch checkpoint: {reason[:300]}.") from None
    if not isinstance(data, dict) or not {"model", "config", "state_dict"} <= set(data):
        raise CheckpointError(
            "this file is a PyTorch file but not a cnnviz checkpoint: it needs 'model', 'config' and 'state_dict'."
        )
    return data


def model_from_checkpoint(data: dict[str, Any]) -> nn.Module:
    """Rebuild the model a checkpoint dict describes and load its weights (eval mode).

    The config is checked and the model's cost counted before it is built; the weights
    must match the model's tensors name for name and shape for shape.
    """
    model = build_model(data["model"], data["config"])
    state = data["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("the checkpoint's state_dict must map names to tensors.")
    expected = model.state_dict()
    for name, tensor in state.items():
        if name in expected and tensor.shape != expected[name].shape:
            raise CheckpointError(
                f"the weights do not fit the model in the checkpoint: {name} is {tuple(tensor.shape)}, "
                f"the model needs {tuple(expected[name].shape)}."
            )
        if name in expected and (tensor.is_complex() or not (tensor.is_floating_point() or name.endswith("tracked"))):
            raise CheckpointError(f"the weights do not fit the model: {name} holds {tensor.dtype}, not real numbers.")
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError, ValueError) as error:
        first = str(error).splitlines()[0]
        raise CheckpointError(f"the weights do not fit the model in the checkpoint: {first[:300]}") from None
    return model.eval()


def load_model(source: str | os.PathLike | bytes) -> nn.Module:
    """Read a checkpoint file and return its model in eval mode."""
    return model_from_checkpoint(read_checkpoint(source))
