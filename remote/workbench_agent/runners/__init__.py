"""Runner modules shipped with the agent (``builtin:NAME``). Third-party runners load by path."""

BUILTIN = ("onnxruntime", "litert", "armnn")
