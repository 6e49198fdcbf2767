"""Read and run an untrusted ONNX file in a child process with a memory cap, a CPU-time cap and a timeout.

The parent writes the file and the images (float32 ``(N, 1, 28, 28)`` in [0, 1], preprocessed as drawings
are) into a private temporary folder and starts ``python -m cnnviz.student_models.sandbox FOLDER`` with
``RLIMIT_AS`` and ``RLIMIT_CPU`` set before it runs; the child parses, describes and runs the model with
onnxruntime on one thread and writes ``answer.json``. A child that runs out of memory or time, or crashes,
is a refusal with one line, never the server's problem.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.student_models.records import GraphRefused, Inspection, inspection_from_json

MAX_MB_ENV, MEMORY_MB_ENV, SECONDS_ENV = "CNNVIZ_ONNX_MAX_MB", "CNNVIZ_ONNX_MEMORY_MB", "CNNVIZ_ONNX_SECONDS"
CLASSES = 10  # a digit classifier's outputs


@dataclass(frozen=True)
class SandboxLimits:
    """What one model file may cost (docs/limits.md)."""

    max_bytes: int = 20 * 2**20  # the file's size
    memory_bytes: int = 2048 * 2**20  # the child's address space (onnxruntime reserves much more than it uses)
    seconds: float = 30.0  # wall time of the child, start-up included
    max_nodes: int = 5000  # operators in the graph

    @classmethod
    def from_env(cls) -> SandboxLimits:
        def number(name: str, default: float) -> float:
            try:
                value = float(os.environ.get(name, default))
            except ValueError:
                return default
            return value if value > 0 else default

        defaults = cls()
        return cls(
            max_bytes=int(number(MAX_MB_ENV, defaults.max_bytes / 2**20) * 2**20),
            memory_bytes=int(number(MEMORY_MB_ENV, defaults.memory_bytes / 2**20) * 2**20),
            seconds=number(SECONDS_ENV, defaults.seconds),
        )


def inspect_model(
    data: bytes,
    images: np.ndarray | None = None,
    limits: SandboxLimits | None = None,
    companions: dict[str, bytes] | None = None,
) -> Inspection:
    """The table of the ONNX model in ``data`` and its probabilities for ``images`` ``(N, 1, 28, 28)``.

    ``companions``: files that came with it, by plain name (the weights file the dynamo exporter writes beside
    ``model.onnx``); only those its tensors name are read.

    Raises:
        GraphRefused: too large, not a model cnnviz can read or run, or the child ran out of memory or time.
    """
    limits = limits or SandboxLimits.from_env()
    companions = {Path(name).name: body for name, body in (companions or {}).items()}
    size = len(data) + sum(map(len, companions.values()))
    if size > limits.max_bytes:
        raise GraphRefused(
            f"the model is {size / 2**20:,.1f} MB; cnnviz reads models of at most "
            f"{limits.max_bytes / 2**20:,.0f} MB ({MAX_MB_ENV})."
        )
    images = np.zeros((0, 1, 28, 28), np.float32) if images is None else np.asarray(images, np.float32)
    with tempfile.TemporaryDirectory(prefix="cnnviz-onnx-") as folder:
        for name, body in companions.items():
            if name and not name.startswith(".") and name not in ("images.npy", "limits.json", "answer.json"):
                Path(folder, name).write_bytes(body)
        Path(folder, "model.onnx").write_bytes(data)
        np.save(Path(folder, "images.npy"), images, allow_pickle=False)
        Path(folder, "limits.json").write_text(json.dumps(dataclasses.asdict(limits)))

        def cap() -> None:  # in the child, before it runs anything of ours
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            cpu = int(limits.seconds) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            os.nice(10)

        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        try:
            done = subprocess.run(
                [sys.executable, "-m", "cnnviz.student_models.sandbox", folder],
                preexec_fn=cap, env=env, capture_output=True, timeout=limits.seconds, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise GraphRefused(f"reading and running the model took longer than {limits.seconds:g} s.") from None
        answer = Path(folder, "answer.json")
        if not answer.exists():
            raise GraphRefused(
                "the model could not be read within "
                f"{limits.memory_bytes / 2**20:,.0f} MB of memory and {limits.seconds:g} s (the reader stopped "
                f"with status {done.returncode})."
            )
        body = json.loads(answer.read_text(encoding="utf-8"))
    if "error" in body:
        raise GraphRefused(str(body["error"]))
    return inspection_from_json(body)


def _predict(data: bytes, input_name: str, images: np.ndarray) -> list[list[float]]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as error:
        raise GraphRefused(f"onnxruntime cannot run this model ({str(error).splitlines()[0][:200]}).") from None
    rows = []
    for image in images:  # one at a time: a model exported with a fixed batch of 1 runs too
        try:
            (out, *_) = session.run(None, {input_name: image[None]})
        except Exception as error:
            raise GraphRefused(
                f"the model did not run on a 1 x 1 x 28 x 28 image ({str(error).splitlines()[0][:200]})."
            ) from None
        logits = np.asarray(out, np.float64).reshape(-1)
        if logits.size != CLASSES:
            raise GraphRefused(f"the model gives {logits.size} numbers per image; a digit classifier gives 10.")
        if np.all(logits >= 0) and abs(logits.sum() - 1) < 1e-3:  # already probabilities (a final softmax)
            probabilities = logits
        else:
            shifted = np.exp(logits - logits.max())
            probabilities = shifted / shifted.sum()
        rows.append([float(p) for p in probabilities])
    return rows


def _child(folder: Path) -> None:
    from cnnviz.student_models.graph import describe, load_model

    limits = json.loads((folder / "limits.json").read_text())
    data = (folder / "model.onnx").read_bytes()
    images = np.load(folder / "images.npy", allow_pickle=False)
    try:
        model = load_model(data, folder)
        table = describe(model, int(limits["max_nodes"]))
        # onnxruntime gets the weights inline: it refuses external files for a model given as bytes
        predictions = _predict(model.SerializeToString(), table.input_name, images) if len(images) else []
        body = {"table": dataclasses.asdict(table), "predictions": predictions}
    except GraphRefused as error:
        body = {"error": str(error)}
    (folder / "answer.json").write_text(json.dumps(body), encoding="utf-8")


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
