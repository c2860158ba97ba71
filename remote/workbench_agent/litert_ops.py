"""Per-operator times for LiteRT from the ``benchmark_model`` tool's op-profiling CSV.

The LiteRT Python API has no op profiler. When the device has
``benchmark_model`` (the ``benchmark_model`` backend option, or on PATH), it
is run on the same model and settings with ``--enable_op_profiling=true
--op_profiling_output_mode=csv``; the "Run Order" table of its regular runs
becomes the layer rows. That table gives, per node, the average time over the
runs (and the first run's), not each run's time: a row's ``durations_us``
holds that one average. Without the tool, no rows are made up: the result
says per-op times are unavailable.

CSV rows look like ``CONV_2D, 0.012, 0.310, 0.298, 12.5%, 12.5%, 0, 1, [a, b]:3``:
node type, start, first, avg ms, %, cdf%, mem KB, times called, then the
node's output tensors and its index in the interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, Dict, List, Optional

RUN_SECTION = "Operator-wise Profiling Info for Regular Benchmark Runs:"
UNAVAILABLE = ("per-op times unavailable: this device has no benchmark_model tool (give its "
               "path with the benchmark_model option or put it on PATH); the LiteRT Python "
               "API has no op profiler, so the profile has latency only")


def parse_csv(text: str) -> List[Dict[str, Any]]:
    """The Run Order rows of the regular runs: node type, index, outputs, avg/first ms, calls."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == RUN_SECTION)
    except StopIteration:
        return []
    rows = []  # type: List[Dict[str, Any]]
    in_table = False
    for line in lines[start + 1:]:
        if "Run Order" in line and line.startswith("="):
            in_table = True
            continue
        if not in_table:
            continue
        if line.startswith("node type"):
            continue
        if not line.strip() or line.startswith("="):
            break
        parts = line.split(", ", 8)
        if len(parts) < 9:
            continue
        node_type, _start, first, avg, _pct, _cdf, _mem, calls, name = parts
        index: Optional[int] = None
        label = name.strip()
        if ":" in label:
            head, _, tail = label.rpartition(":")
            if tail.isdigit():
                label, index = head, int(tail)
        outputs = [t for t in label.strip("[]").split(", ") if t] if label.startswith("[") \
            else []
        rows.append({"op_type": node_type.split("/")[0], "index": index, "outputs": outputs,
                     "label": name.strip(), "avg_ms": float(avg), "first_ms": float(first),
                     "calls": int(float(calls))})
    return rows


def layer_rows(rows: List[Dict[str, Any]], nodes: List[Dict[str, Any]],
               names: Dict[int, str], where: Dict[str, str], op_names: Dict[int, str]
               ) -> List[Dict[str, Any]]:
    """Runner-API layer rows; a DELEGATE node's row lists the operators it ran."""
    by_index = {int(n["index"]): n for n in nodes}
    rows_out = []
    for row in rows:
        index = row["index"]
        node = by_index.get(index) if index is not None else None
        if node is not None and index in op_names:
            name = op_names[index]
            covered = [name]
            provider = where.get(name, "CPU")
        else:
            name = row["outputs"][0] if row["outputs"] else row["label"]
            outputs = set(row["outputs"])
            covered = _delegated(node, op_names, by_index) if node is not None else []
            provider = where.get(covered[0], row["op_type"]) if covered else row["op_type"]
            if not covered and outputs:
                covered = [n for n in op_names.values() if n in outputs]
        rows_out.append({"name": name, "op_type": row["op_type"], "provider": provider,
                         "calls": row["calls"], "durations_us": [row["avg_ms"] * 1000.0],
                         "first_us": row["first_ms"] * 1000.0, "nodes": covered,
                         "input_shapes": None, "output_shapes": None})
    return rows_out


def _delegated(node: Dict[str, Any], op_names: Dict[int, str],
               by_index: Dict[int, Dict[str, Any]]) -> List[str]:
    producer = {}
    for index in op_names:
        for tensor in by_index[index]["outputs"]:
            producer[int(tensor)] = index
    boundary = {int(t) for t in node["inputs"]}
    stack = [int(t) for t in node["outputs"]]
    found = set()
    while stack:
        tensor = stack.pop()
        if tensor in boundary or tensor not in producer or producer[tensor] in found:
            continue
        found.add(producer[tensor])
        stack.extend(int(t) for t in by_index[producer[tensor]]["inputs"] if int(t) >= 0)
    return [op_names[i] for i in sorted(found)]


def _tool(options: Dict[str, Any]) -> Optional[str]:
    given = options.get("benchmark_model") or ""
    if given:
        return given if os.path.isfile(given) and os.access(given, os.X_OK) else None
    return shutil.which("benchmark_model")


def profile_ops(path: str, options: Dict[str, Any], threads: int, runs: int,
                nodes: List[Dict[str, Any]], names: Dict[int, str], where: Dict[str, str],
                ctx: Any, timeout: Optional[float]) -> Dict[str, Any]:
    """Layer rows from benchmark_model, or a warning saying per-op times are unavailable."""
    from workbench_agent.runners.litert import op_names

    tool = _tool(options)
    if tool is None:
        if options.get("benchmark_model"):
            return {"warnings": ["per-op times unavailable: the benchmark_model option names "
                                 "%r, which is not an executable file on the device"
                                 % options["benchmark_model"]]}
        return {"warnings": [UNAVAILABLE]}
    output = os.path.join(ctx.workdir, "litert_ops.csv")
    command = [tool, "--graph=" + path, "--num_runs=%d" % runs, "--warmup_runs=1",
               "--use_xnnpack=%s" % ("true" if options.get("xnnpack", True) else "false"),
               "--enable_op_profiling=true", "--op_profiling_output_mode=csv",
               "--op_profiling_output_file=" + output]
    if threads > 0:
        command.append("--num_threads=%d" % threads)
    if options.get("external_delegate"):
        command.append("--external_delegate_path=" + options["external_delegate"])
        pairs = options.get("external_delegate_options") or {}
        if pairs:
            command.append("--external_delegate_options=" + ";".join(
                "%s:%s" % (k, v) for k, v in pairs.items()))
    ctx.progress("profile", 0, runs)
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"warnings": ["per-op times unavailable: benchmark_model failed to run: %s"
                             % exc]}
    if done.returncode != 0 or not os.path.isfile(output):
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        return {"warnings": ["per-op times unavailable: benchmark_model exited with %d: %s"
                             % (done.returncode, " / ".join(tail))]}
    with open(output, encoding="utf-8") as handle:
        text = handle.read()
    os.remove(output)
    ctx.progress("profile", runs, runs)
    rows = layer_rows(parse_csv(text), nodes, names, where, op_names(nodes, names))
    if not rows:
        return {"warnings": ["per-op times unavailable: benchmark_model's CSV had no Run Order "
                             "table"]}
    return {"layers": rows, "profile_runs": runs,
            "layer_source": "benchmark_model's op profiler: per operator (a delegated "
            "partition is one row), the average over %d runs" % runs}
