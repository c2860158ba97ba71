"""Notebook UI overhead: what the widgets add to a job, for MobileNetV2 on this machine.

Two figures, each against the bare job measured in the same run, alternating:

* click to first stage: ``run_button.click()`` until the run panel has drawn
  its first stage, against ``wb.submit()`` until the job's first stage event
  reaches a plain callback;
* result to table: the job's final ``done`` event until the results view has
  drawn the per-layer table, against the job handing its profile to a plain
  done callback.

* a table change on a 720-node profile (sort, filter by op type, top-N, next
  page, each applied and drawn), against sorting the profile's DataFrame
  (``to_dataframe().sort_values``) once.

The goal is under 0.2 s of UI overhead beyond the job itself, and under
0.2 s for each table change.

    python benchmarks/bench_ui.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "remote")]

RUN = {"warmup": 5, "runs": 20, "profile_runs": 5}


def bare_job(model: Any) -> tuple[float, float]:
    """Seconds from submit to the first stage event, and from the done event to the profile
    in a done callback."""
    import workbench as wb

    start = time.monotonic()
    first: list[float] = []
    done_wall: list[float] = []
    settled = threading.Event()
    handed: list[float] = []

    def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "stage":
            if not first:
                first.append(time.monotonic())
            if event.get("stage") == "done":
                done_wall.append(float(event["time"]))

    def ended(job: wb.Job) -> None:
        job.result(0)
        handed.append(time.time())
        settled.set()

    job = wb.Job(model, "local", on_event=on_event, **RUN)  # type: ignore[arg-type]
    job.add_done_callback(ended)
    job.start()
    settled.wait(600)
    return first[0] - start, handed[0] - done_wall[0]


def ui_job(model: Any) -> tuple[float, float, float]:
    """Seconds from the Run click to the first stage drawn, from the done event to the table
    drawn, and the time the table itself took."""
    from workbench.widgets import Workbench

    ui = Workbench(model, **RUN)
    drawn: list[float] = []
    # called after the workbench's own listener, which draws the results
    ui.run_panel.on_done(lambda job: drawn.append(time.time()))
    ui.run_panel.run_button.click()
    ui.wait(600)
    panel = ui.run_panel
    assert ui.job is not None and ui.profile is not None and ui.results.shown_rows
    assert panel.clicked_at is not None and panel.first_stage_shown_at is not None
    done_wall = next(float(e["time"]) for e in ui.job.events if e.get("stage") == "done")
    return (panel.first_stage_shown_at - panel.clicked_at, drawn[0] - done_wall,
            ui.results.last_draw_s)


def wide_profile(nodes: int = 720) -> Any:
    """A real local profile of a chain of ``nodes`` element-wise nodes."""
    import tempfile

    import onnx
    from onnx import TensorProto, helper

    import workbench as wb

    ops = ("Relu", "Sigmoid", "Tanh", "Abs", "Neg", "Softsign")
    chain = [helper.make_node(ops[i % len(ops)], ["x" if i == 0 else f"t{i - 1}"],
                              ["y" if i == nodes - 1 else f"t{i}"], name=f"n{i:03d}")
             for i in range(nodes)]
    graph = helper.make_graph(chain, "wide",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])])
    path = Path(tempfile.mkdtemp()) / "wide.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return wb.profile(path, warmup=0, runs=2, profile_runs=2)


def table_changes(profile: Any) -> tuple[list[float], float]:
    """Seconds each table change took in the results view, and the DataFrame sort's."""
    from workbench.widgets import ResultsView

    view = ResultsView(profile)
    changes = [("sort", "name"), ("sort", "time"), ("op_types", ("Relu", "Tanh")),
               ("op_types", ()), ("top", 50), ("top", 0), ("text", "n1"), ("text", "")]
    took = []
    for name, value in changes:
        start = time.perf_counter()
        getattr(view, name).value = value
        took.append(time.perf_counter() - start)
    start = time.perf_counter()
    view.next_button.click()
    took.append(time.perf_counter() - start)
    start = time.perf_counter()
    profile.to_dataframe().sort_values("time_us_median", ascending=False)
    return took, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import workbench as wb

    model = wb.load_model("zoo:mobilenetv2")
    ui_job(model)  # warm both paths: imports, the agent's first start, the model's copy
    bare_job(model)
    bare_first, bare_result, ui_first, ui_result, table = [], [], [], [], []
    for _ in range(args.rounds):
        first, result = bare_job(model)
        bare_first.append(first)
        bare_result.append(result)
        first, result, draw = ui_job(model)
        ui_first.append(first)
        ui_result.append(result)
        table.append(draw)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.1f} ms"

    click = statistics.median(ui_first) - statistics.median(bare_first)
    result = statistics.median(ui_result) - statistics.median(bare_result)
    print(f"click to first stage: UI {ms(ui_first)}, bare job {ms(bare_first)}; "
          f"overhead {click * 1000:.1f} ms")
    print(f"result to table: UI {ms(ui_result)}, bare job {ms(bare_result)}; "
          f"overhead {result * 1000:.1f} ms (the table itself: {ms(table)})")
    wide = wide_profile()
    took, frame = table_changes(wide)
    print(f"table change on {len(wide.layers)} layers: median {ms(took)}, slowest "
          f"{max(took) * 1000:.1f} ms over {len(took)} changes; DataFrame sort "
          f"{frame * 1000:.1f} ms (ratio {statistics.median(took) / frame:.2f})")
    slowest = max(click, result, max(took))
    print(f"goal < 200 ms each: {'met' if slowest < 0.2 else 'NOT met'}")


if __name__ == "__main__":
    main()
