"""Realistic workbench.profile/2 documents, built the way a job builds them.

A small CNN (conv → depthwise conv → pointwise conv → pool → fc → softmax)
profiled with onnxruntime on a Raspberry Pi 5: fused rows covering several
original nodes, one NCHWc layout row inserted by the runtime, per-run
durations turned into stats, one run's raw events in the agent's slim form
(no ``ph`` / ``pid``, as ``ort_trace.TraceAggregator.trace()`` writes them).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from workbench.profiling import Profile, summarize

#: (executed name, op type, kind, original nodes, median µs, MACs, bytes)
LAYERS = [
    ("input_nchwc", "ReorderInput", "layout", [], 41.0, None, 602112),
    ("Conv_0", "Conv", "compute", ["conv1", "bn1", "relu1"], 812.0, 10838016, 1806336),
    ("Conv_1", "Conv", "compute", ["conv2_dw", "relu2"], 295.0, 3612672, 1605632),
    ("Conv_2", "Conv", "compute", ["conv2_pw"], 1104.0, 25690112, 2408448),
    ("GlobalAveragePool_0", "GlobalAveragePool", "compute", ["gap"], 38.0, 401408, 401664),
    ("Gemm_0", "Gemm", "compute", ["flatten", "fc"], 120.0, 256000, 1026000),
    ("Softmax_0", "Softmax", "compute", ["softmax"], 6.5, None, 8000),
]
TOPOLOGY_NODES = [
    ("conv1", "Conv", ["input", "w1"], ["t1"]),
    ("bn1", "BatchNormalization", ["t1"], ["t2"]),
    ("relu1", "Relu", ["t2"], ["t3"]),
    ("conv2_dw", "Conv", ["t3", "w2"], ["t4"]),
    ("relu2", "Relu", ["t4"], ["t5"]),
    ("conv2_pw", "Conv", ["t5", "w3"], ["t6"]),
    ("gap", "GlobalAveragePool", ["t6"], ["t7"]),
    ("flatten", "Flatten", ["t7"], ["t8"]),
    ("fc", "Gemm", ["t8", "w4", "b4"], ["t9"]),
    ("softmax", "Softmax", ["t9"], ["output"]),
]
PROFILE_RUNS = 5


def _topology() -> dict[str, Any]:
    producers = {out: name for name, _, _, outs in TOPOLOGY_NODES for out in outs}
    edges = [{"from": producers[t], "to": name, "tensor": t}
             for name, _, ins, _ in TOPOLOGY_NODES for t in ins if t in producers]
    return {"nodes": [{"name": n, "op_type": op, "inputs": ins, "outputs": outs}
                      for n, op, ins, outs in TOPOLOGY_NODES],
            "edges": edges, "inputs": ["input"], "outputs": ["output"]}


def make_document(kind: str = "measured", *, label: str | None = None, scale: float = 1.0,
                  seed: int = 7) -> dict[str, Any]:
    """A schema-valid profile document; ``scale`` multiplies every time (a slower board)."""
    rng = np.random.default_rng(seed)
    layers, events, ts = [], [], 0.0
    per_run = {name: median * scale * (1 + 0.04 * rng.standard_normal(PROFILE_RUNS))
               for name, _, _, _, median, _, _ in LAYERS}
    total = sum(float(np.median(v)) for v in per_run.values())
    for name, op, layer_kind, nodes, _, macs, nbytes in LAYERS:
        stats = summarize(per_run[name].tolist())
        layers.append({
            "name": name, "op_type": op, "kind": layer_kind, "original_nodes": nodes,
            "provider": "CPUExecutionProvider", "calls": 1, "duration_us": stats,
            "share": stats["median"] / total, "input_shapes": [[1, 3, 224, 224]],
            "output_shapes": [[1, 32, 112, 112]], "macs": macs, "bytes": nbytes,
            "gmacs_per_s": None if macs is None else macs / (stats["median"] * 1e3),
        })
        dur = float(per_run[name][0])
        events.append({"name": f"{name}_kernel_time", "cat": "Node", "ts": round(ts, 3),
                       "dur": round(dur, 3), "tid": 0,
                       "args": {"op_name": op, "provider": "CPUExecutionProvider"}})
        ts += dur + 2.0
    events.append({"name": "model_run", "cat": "Session", "ts": 0.0, "dur": round(ts, 3),
                   "tid": 0, "args": {}})
    samples = (2.6 * scale + 0.08 * rng.standard_normal(40)).round(4).tolist()
    emulated = kind == "emulated"
    return {
        "schema": "workbench.profile/2",
        "kind": kind,
        "created": "2024-06-01T12:34:56Z",
        "label": label,
        "model": {"name": "tinycnn", "sha256": "9f2c" + "0" * 60, "format": "onnx",
                  "source": "zoo:tinycnn", "opset": 17, "params": 61000, "macs": 40798208,
                  "weight_bytes": 244000, "peak_activation_bytes": 1605632},
        "device": {"name": "emu-pi5" if emulated else "pi5",
                   "kind": "emulated" if emulated else "ssh", "arch": "aarch64",
                   "os": "Debian GNU/Linux 12", "hostname": "pi5",
                   "cpu": {"model_name": "Cortex-A76",
                           "clusters": [{"cores": 4, "part": "0xd0b", "max_mhz": 2400}],
                           "features": ["asimd", "asimddp", "fphp"]},
                   "cores": 4, "memory_bytes": 8 * 2**30, "disk_free_bytes": 20 * 2**30,
                   "python": "3.11.2", "numpy": "1.26.4",
                   "runtimes": {"onnxruntime": {"version": "1.18.0",
                                                "providers": ["CPUExecutionProvider"]}},
                   "emulated": emulated},
        "target": {"name": "raspberry-pi-5"},
        "environment": {"conditions": {"governor": "performance", "temp_c": 51.2},
                        "cores_used": [0, 1, 2, 3], "emulated": emulated},
        "backend": {"name": "onnxruntime", "version": "1.18.0",
                    "options": {"intra_op_threads": 4, "graph_optimization_level": "all"},
                    "providers": ["CPUExecutionProvider"]},
        "run": {"warmup": 5, "runs": 40, "profile_runs": PROFILE_RUNS, "timeout_s": 600.0},
        "versions": {"workbench": "0.1.0", "agent": "0.1.0", "onnxruntime": "1.18.0",
                     "python": "3.11.2"},
        "inputs": [{"name": "input", "dtype": "float32", "shape": [1, 3, 224, 224],
                    "spec": {"kind": "random", "seed": 0}, "sha256": "ab" * 32}],
        "latency": {"samples_ms": samples, "stats": summarize(samples),
                    "source": "timed runs, profiling off", "cold_ms": 14.25,
                    "session_create_ms": 88.5},
        "memory": {"peak_rss_after_create_bytes": 61_000_000,
                   "peak_rss_after_runs_bytes": 64_500_000, "arena_bytes": None},
        "layers": layers,
        "layer_source": f"{PROFILE_RUNS} profiled runs, profiling on",
        "trace": {"run_index": 0, "events": events},
        "topology": _topology(),
        "delegation": None,
        "outputs": [{"name": "output", "dtype": "float32", "shape": [1, 1000],
                     "sha256": "cd" * 32}],
        "warnings": ["CPU governor was 'ondemand' at start; set to 'performance'"],
    }


def make_estimate_document() -> dict[str, Any]:
    """An estimate: catalog device, no samples, no trace, per-node rows with medians only."""
    document = make_document("estimate")
    document["device"] = {"name": "raspberry-pi-5", "kind": "catalog", "arch": "aarch64"}
    document["latency"] = {"samples_ms": [], "stats": {"count": 0, "mean": 2.1,
                                                       "median": 2.1}}
    for layer in document["layers"]:
        median = layer["duration_us"]["median"]
        layer["duration_us"] = {"count": 0, "mean": median, "median": median}
        layer.pop("provider")
    document["trace"] = None
    for key in ("memory", "environment", "versions", "inputs", "outputs"):
        document.pop(key)
    return document


@pytest.fixture
def profile_document() -> dict[str, Any]:
    """A measured profile document (a fresh dict per test)."""
    return make_document()


@pytest.fixture
def profile(profile_document: dict[str, Any]) -> Profile:
    """A measured Profile."""
    return Profile(profile_document)


@pytest.fixture
def emulated_profile() -> Profile:
    """A Profile measured on an emulated board."""
    return Profile(make_document("emulated"))


@pytest.fixture
def estimate_profile() -> Profile:
    """A catalog estimate: no samples, no trace, sparse layer stats."""
    return Profile(make_estimate_document())


@pytest.fixture
def document_factory() -> Callable[..., dict[str, Any]]:
    """``make_document`` for tests that need variants."""
    return lambda *args, **kwargs: copy.deepcopy(make_document(*args, **kwargs))
