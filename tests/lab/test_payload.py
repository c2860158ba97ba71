"""What the lab extension receives: the profile's MIME payload, its timeline and its graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.conftest import conv_relu_model
from workbench.profiling.timeline import MAX_EVENTS, run_timeline

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "profile-1-synthetic.json"
PROFILE_MIME = "application/vnd.workbench.profile+json"


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(FIXTURE.read_text())
    return document


def test_the_payload_carries_a_timeline_instead_of_the_raw_events() -> None:
    profile = wb.Profile(_document())
    payload = profile._repr_mimebundle_(include=[PROFILE_MIME])[PROFILE_MIME]
    assert "events" not in payload["trace"]
    raw = [e for e in profile.trace_events if e.get("ph", "X") == "X"]
    timeline = payload["timeline"]
    assert timeline["total"] == len(raw) and timeline["dropped"] == 0
    name, track, start, duration = timeline["events"][0]
    assert (name, track, start) == (raw[0]["name"], 0, 0.0)
    assert duration == pytest.approx(raw[0]["dur"], abs=0.05)
    json.dumps(payload, allow_nan=False)


def test_a_long_run_keeps_only_its_longest_events_in_start_order() -> None:
    document = _document()
    document["trace"]["events"] = [
        {"name": f"op{i}", "ph": "X", "ts": float(i * 10), "dur": float(i % 97), "tid": i % 3}
        for i in range(MAX_EVENTS + 3000)]
    timeline = run_timeline(wb.Profile(document))
    assert timeline is not None
    assert len(timeline["events"]) == MAX_EVENTS
    assert timeline["dropped"] == 3000 and timeline["total"] == MAX_EVENTS + 3000
    starts = [event[2] for event in timeline["events"]]
    assert starts == sorted(starts)
    durations = sorted((e["dur"] for e in document["trace"]["events"]), reverse=True)
    assert min(event[3] for event in timeline["events"]) == durations[MAX_EVENTS - 1]
    assert timeline["tracks"] == ["thread 0", "thread 1", "thread 2"]


def test_a_profile_without_a_trace_has_no_timeline() -> None:
    document = _document()
    document["trace"] = None
    assert run_timeline(wb.Profile(document)) is None


def test_topology_nodes_carry_the_macs_of_the_model_s_nodes(tmp_path: Path) -> None:
    model = wb.load_model(conv_relu_model(tmp_path / "m.onnx"))
    macs = {node.name: node.macs for node in model.nodes}
    topology = model.topology()
    assert {node["name"]: node["macs"] for node in topology["nodes"]} == macs
    assert sum(macs.values()) > 0
