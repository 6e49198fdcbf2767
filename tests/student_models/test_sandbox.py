"""Students' ONNX files: the shipped classifier exported as a student would, read in the sandbox against PyTorch
itself, and files that must be refused with one line."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

from cnnviz.data.mnist import shipped_test_digits
from cnnviz.student_models.records import GraphRefused
from cnnviz.student_models.sandbox import SandboxLimits, inspect_model
from cnnviz.training.recipe import count_parameters
from models import load_pretrained

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def classifier():
    return load_pretrained("classifier").eval()


@pytest.fixture(scope="module")
def exported(classifier, tmp_path_factory):
    """The classifier as ``torch.onnx.export`` writes it: the dynamo exporter (weights in ``.data`` beside it, by
    default) and the TorchScript one with a dynamic batch."""
    folder = tmp_path_factory.mktemp("onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(classifier, torch.zeros(1, 1, 28, 28), folder / "dynamo.onnx")
        torch.onnx.export(classifier, torch.zeros(1, 1, 28, 28), folder / "script.onnx", dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "batch"}})  # fmt: skip
    return folder


def digits(count: int) -> tuple[np.ndarray, np.ndarray]:
    shipped = shipped_test_digits()
    return (shipped.images[:count].float() / 255).numpy(), shipped.labels[:count].numpy()


def layer_shapes(model: torch.nn.Module) -> list[tuple[int, ...]]:
    """PyTorch's own per-sample output shape of every convolution, pool and linear layer, in order."""
    shapes = []
    kinds = torch.nn.Conv2d | torch.nn.MaxPool2d | torch.nn.Linear
    hooks = [m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:])))
             for m in model.modules() if isinstance(m, kinds)]  # fmt: skip
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for hook in hooks:
        hook.remove()
    return shapes


@pytest.mark.parametrize("name", ["dynamo", "script"])
def test_a_students_export_reads_as_pytorch_counts_and_shapes_it_and_predicts_the_same(classifier, exported, name):
    path = exported / f"{name}.onnx"
    companions = {p.name: p.read_bytes() for p in exported.glob(f"{name}.onnx.data")}
    assert bool(companions) == (name == "dynamo")  # the dynamo exporter keeps its weights beside the model
    images, labels = digits(8)
    result = inspect_model(path.read_bytes(), images, companions=companions)
    table = result.table
    assert table.parameters == count_parameters(classifier)
    weighted = [layer for layer in table.layers if layer.kind in ("Conv2d", "MaxPool2d", "Linear")]
    assert [layer.output_shape for layer in weighted] == layer_shapes(classifier)
    conv1 = weighted[0]
    assert conv1.parameters == 16 * 1 * 9 + 16 and conv1.macs == 16 * 28 * 28 * 9
    assert sum(layer.joins == 2 for layer in table.layers) == 3  # the three residual additions
    with torch.no_grad():
        expected = torch.softmax(classifier(torch.from_numpy(images)), 1).numpy()
    assert np.allclose(np.array(result.predictions), expected, atol=1e-4)
    assert (np.argmax(result.predictions, 1) == labels).mean() >= 0.875


def test_weights_left_out_of_the_upload_are_asked_for_by_name(exported):
    with pytest.raises(GraphRefused, match=r"separate file, dynamo\.onnx\.data.*external_data=False"):
        inspect_model((exported / "dynamo.onnx").read_bytes())


def _model(nodes, inputs, outputs, initializers=()) -> bytes:
    graph = helper.make_graph(nodes, "student", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


IMAGE = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])


def test_files_that_are_not_digit_classifiers_are_refused_with_the_reason(tmp_path):
    with pytest.raises(GraphRefused, match="not an ONNX model|not a valid ONNX model"):
        inspect_model(b"\x80\x04this is a pickle, not a protobuf" * 10)
    five = helper.make_tensor("w", TensorProto.FLOAT, [784, 5], np.zeros(784 * 5, np.float32))
    shape = helper.make_tensor("s", TensorProto.INT64, [2], np.array([1, 784], np.int64))
    flat = [helper.make_node("Reshape", ["x", "s"], ["f"]), helper.make_node("MatMul", ["f", "w"], ["y"])]
    narrow = _model(flat, [IMAGE], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], [five, shape])
    with pytest.raises(GraphRefused, match="5 numbers per image; a digit classifier gives 10"):
        inspect_model(narrow, digits(1)[0])
    with pytest.raises(GraphRefused, match="models of at most 0 MB"):
        inspect_model(narrow, limits=SandboxLimits(max_bytes=len(narrow) - 1))


def test_a_weight_stored_outside_the_sandbox_is_not_read(tmp_path):
    weight = helper.make_tensor("w", TensorProto.FLOAT, [784, 10], np.zeros(7840, np.float32))
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("float_data")
    for key, value in (("location", "../../etc/passwd"), ("offset", "0"), ("length", "31360")):
        weight.external_data.add(key=key, value=value)
    shape = helper.make_tensor("s", TensorProto.INT64, [2], np.array([1, 784], np.int64))
    flat = [helper.make_node("Reshape", ["x", "s"], ["f"]), helper.make_node("MatMul", ["f", "w"], ["y"])]
    model = _model(flat, [IMAGE], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], [weight, shape])
    with pytest.raises(GraphRefused, match="only a file beside it is read"):
        inspect_model(model)


def test_a_model_that_asks_for_too_much_memory_ends_its_child_not_the_caller():
    huge = helper.make_tensor("shape", TensorProto.INT64, [2], np.array([60_000, 60_000], np.int64))  # 14 GB
    model = _model(
        [helper.make_node("ConstantOfShape", ["shape"], ["big"], value=helper.make_tensor("v", 1, [1], [1.0])),
         helper.make_node("ReduceSum", ["big"], ["y"], keepdims=0)],
        [IMAGE], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])], [huge],
    )  # fmt: skip
    with pytest.raises(GraphRefused) as refused:
        inspect_model(model, digits(1)[0], SandboxLimits(memory_bytes=1024 * 2**20))
    assert "memory" in str(refused.value) or "did not run" in str(refused.value)


def test_a_reader_past_its_time_is_stopped_with_a_message():
    with pytest.raises(GraphRefused, match="longer than 0.2 s"):
        inspect_model(b"anything", limits=SandboxLimits(seconds=0.2))


def test_the_command_prints_the_table_or_one_json_object_and_refuses_with_status_2(exported, tmp_path):
    command = [sys.executable, "-m", "cnnviz.inspect", str(exported / "script.onnx"), "--json",
               "--image", str(ROOT / "cnnviz/data/samples/mnist_0.png")]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["parameters"] == 37_914 and answer["layers"][0]["kind"] == "Conv2d"
    assert answer["layers"][0]["output_shape"] == [16, 28, 28] and len(answer["predictions"][0]) == 10
    text = subprocess.run(command[:4], cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
    assert "Conv2d" in text and "parameters: 37,914" in text
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    refused = subprocess.run([sys.executable, "-m", "cnnviz.inspect", str(tmp_path / "broken.onnx"), "--json"],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert refused.returncode == 2 and "error" in json.loads(refused.stdout) and "Traceback" not in refused.stderr
