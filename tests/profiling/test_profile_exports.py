"""Exports: Chrome trace, self-contained HTML and the notebook MIME bundle."""

from __future__ import annotations

import base64
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from workbench.profiling import Profile

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PROFILE_MIME = "application/vnd.workbench.profile+json"


def _load_trace(profile: Profile, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "trace.json"
    returned = profile.to_chrome_trace(path)
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert loaded == returned
    return loaded


def test_chrome_trace_has_the_object_format_structure(tmp_path: Path, profile: Profile) -> None:
    trace = _load_trace(profile, tmp_path)
    assert trace["displayTimeUnit"] == "ms"
    assert trace["metadata"]["model"] == "tinycnn"
    for event in trace["traceEvents"]:
        assert {"ph", "ts", "pid", "tid"} <= set(event)
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int)
        if event["ph"] == "X":
            assert event["dur"] >= 0


def test_chrome_trace_keeps_every_raw_event_of_the_stored_run(tmp_path: Path,
                                                              profile: Profile) -> None:
    trace = _load_trace(profile, tmp_path)
    raw = [e for e in trace["traceEvents"] if e.get("cat") in ("Node", "Session")]
    assert [e["name"] for e in raw] == [e["name"] for e in profile.trace_events]
    assert all(e["ph"] == "X" for e in raw)


def test_chrome_trace_names_processes_after_device_and_backend(tmp_path: Path,
                                                               profile: Profile) -> None:
    names = [e["args"]["name"] for e in _load_trace(profile, tmp_path)["traceEvents"]
             if e["ph"] == "M" and e["name"] == "process_name"]
    assert any("pi5" in name and "onnxruntime" in name for name in names)


def test_chrome_trace_lays_the_timed_runs_end_to_end(tmp_path: Path, profile: Profile) -> None:
    runs = [e for e in _load_trace(profile, tmp_path)["traceEvents"] if e.get("cat") == "latency"]
    samples = profile.document["latency"]["samples_ms"]
    assert len(runs) == len(samples)
    assert [e["args"]["latency_ms"] for e in runs] == samples
    for before, after in itertools.pairwise(runs):
        assert after["ts"] == before["ts"] + before["dur"]


def test_chrome_trace_fills_defaults_and_numbers_named_threads(
        tmp_path: Path, profile_document: dict[str, Any]) -> None:
    profile_document["trace"]["events"][1]["tid"] = "intra-op-1"
    profile_document["trace"]["events"][2]["dur"] = -3
    trace = _load_trace(Profile(profile_document), tmp_path)
    threads = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"]
               if e["name"] == "thread_name" and e["pid"] == 1}
    assert "intra-op-1" in threads.values()
    assert all(e["dur"] >= 0 for e in trace["traceEvents"] if e["ph"] == "X")


def test_chrome_trace_of_an_estimate_draws_synthetic_layer_boxes(
        tmp_path: Path, estimate_profile: Profile) -> None:
    trace = _load_trace(estimate_profile, tmp_path)
    layers = [e for e in trace["traceEvents"] if e.get("cat") == "layer"]
    assert [e["name"] for e in layers] == [layer["name"] for layer in estimate_profile.layers]
    assert "ESTIMATE" in trace["metadata"]["caveat"]


def test_html_report_is_self_contained(tmp_path: Path, profile: Profile) -> None:
    html = profile.to_html(tmp_path / "report.html")
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()


def test_html_report_shows_header_latency_memory_warnings_and_layers(profile: Profile) -> None:
    html = profile.to_html()
    for expected in ("tinycnn", "pi5", "onnxruntime", "Latency", "Memory", "Warnings",
                     "Conv_2", "conv1, bn1, relu1", "2024-06-01T12:34:56Z"):
        assert expected in html


def test_html_report_escapes_strings_from_the_document(profile_document: dict[str, Any]) -> None:
    profile_document["layers"][3]["name"] = "<script>alert(1)</script>"
    profile_document["warnings"] = ["a & b < c"]
    html = Profile(profile_document).to_html()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &amp; b &lt; c" in html


def test_html_report_of_an_emulated_profile_says_so(emulated_profile: Profile) -> None:
    assert "EMULATED — times are not hardware times" in emulated_profile.to_html()


def test_html_report_of_an_estimate_without_samples_or_trace_renders(
        estimate_profile: Profile) -> None:
    html = estimate_profile.to_html()
    assert "ESTIMATE" in html
    assert html.count("<svg ") == 3  # no latency samples: no latency figure


def test_mimebundle_offers_the_lab_type_html_png_and_text(profile: Profile) -> None:
    bundle = profile._repr_mimebundle_()
    assert set(bundle) == {PROFILE_MIME, "text/html", "image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_MAGIC)
    assert bundle["text/plain"] == profile.summary()
    assert "data:image/png;base64," in bundle["text/html"]
    assert "Conv_2" in bundle["text/html"]


def test_mimebundle_json_part_trades_the_trace_events_for_a_timeline(profile: Profile) -> None:
    from workbench.profiling.timeline import run_timeline

    part = profile._repr_mimebundle_()[PROFILE_MIME]
    assert "events" not in part["trace"]
    assert part["trace"]["run_index"] == 0
    assert part["timeline"] == run_timeline(profile)
    whole = profile.to_dict()
    # every section but the trace's events is there; layer rows and the graph become the view
    assert set(part) == set(whole) - {"layers", "topology"} | {"timeline", "view"}
    for key in set(whole) - {"trace", "layers", "topology"}:
        assert part[key] == whole[key], key
    assert profile.trace_events, "the profile itself keeps its events"
    json.dumps(part)  # and the part is JSON


def test_mimebundle_json_part_keeps_what_the_renderer_reads_of_layers_and_graph(
        profile: Profile) -> None:
    view = profile._repr_mimebundle_()[PROFILE_MIME]["view"]
    text, rows, graph = view["strings"], view["layers"], view["graph"]
    assert len(rows["name"]) == len(profile.layers)
    for i, layer in enumerate(profile.layers):
        assert rows["name"][i] == layer["name"]
        assert text[rows["op_type"][i]] == layer["op_type"]
        assert text[rows["provider"][i]] == layer["provider"]
        assert [graph["name"][n] for n in rows["nodes"][i]] == layer["original_nodes"]
        assert rows["median_us"][i] == pytest.approx(layer["duration_us"]["median"], rel=1e-5)
        assert rows["share"][i] == pytest.approx(layer["share"], rel=1e-3)
        assert rows["macs"][i] == layer["macs"]
    topology = profile.document["topology"]
    assert [(name, text[op], macs) for name, op, macs in
            zip(graph["name"], graph["op_type"], graph["macs"], strict=True)] == \
        [(n["name"], n["op_type"], n.get("macs")) for n in topology["nodes"]]
    pairs = list(zip(graph["edges"][::2], graph["edges"][1::2], strict=True))
    assert [(graph["name"][a], graph["name"][b]) for a, b in pairs] == \
        [(e["from"], e["to"]) for e in topology["edges"]]
    assert len(json.dumps(view)) < len(json.dumps([profile.layers, topology])) / 2


def test_mimebundle_honours_include_and_exclude(profile: Profile) -> None:
    assert set(profile._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert "image/png" not in profile._repr_mimebundle_(exclude=["image/png"])


def test_mimebundle_html_of_an_emulated_profile_says_so(emulated_profile: Profile) -> None:
    assert "EMULATED" in emulated_profile._repr_mimebundle_(include=["text/html"])["text/html"]
