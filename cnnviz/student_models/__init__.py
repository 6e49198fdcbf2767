"""Students' own networks, as ONNX files: read, described layer by layer and run, always in a child process.

An uploaded file is untrusted: it is never unpickled (ONNX is a protobuf), and even parsing it happens in a
child process with a memory and a time cap (:mod:`cnnviz.student_models.sandbox`), so a file built to exhaust
the parser or the runtime ends that child, not the server. Imports numpy and cnnviz.layers; onnx and
onnxruntime only in the child.
"""
