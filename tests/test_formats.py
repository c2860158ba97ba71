"""The versioned documents: schemas are valid, and every released fixture still loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import workbench as wb
from workbench import errors, formats

FIXTURES = Path(__file__).parent / "fixtures" / "formats"


@pytest.mark.parametrize("identifier", sorted(formats.SCHEMAS))
def test_each_schema_is_a_valid_json_schema_with_its_identifier(identifier: str) -> None:
    schema = formats.schema(identifier)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == identifier


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("job-*.json")), ids=lambda p: p.name)
def test_released_job_documents_still_validate(path: Path) -> None:
    formats.validate(json.loads(path.read_text()), formats.JOB)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("runner-*.json")), ids=lambda p: p.name)
def test_released_runner_results_still_validate(path: Path) -> None:
    formats.validate(json.loads(path.read_text()), formats.RUNNER)


def _broken_result(change: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((FIXTURES / "runner-1.json").read_text())
    layer = result["layers"][0]
    layer["kernels"] = [{"name": "gemm", "durations_us": [1.0] * len(layer["durations_us"])}]
    if change == "a time as text":
        layer["durations_us"][-1] = "3"
    elif change == "a time as a bool":
        result["layers"][-1]["durations_us"][0] = True
    elif change == "a kernel's time missing":
        layer["kernels"][0]["durations_us"][0] = None
    elif change == "times not a list":
        layer["durations_us"] = "fast"
    elif change == "a layer without a name":
        del layer["name"]
    elif change == "layers not a list":
        result["layers"] = {"conv": layer}
    elif change == "calls as a whole float":  # valid: the schema's integer takes 2.0
        layer["calls"] = 2.0
    elif change == "a kernel without a name":
        del layer["kernels"][0]["name"]
    elif change == "a provider as a number":
        result["layers"][-1]["provider"] = 3
    return result


@pytest.mark.parametrize("change", ["none", "a time as text", "a time as a bool",
                                    "a kernel's time missing", "times not a list",
                                    "a layer without a name", "layers not a list",
                                    "calls as a whole float", "a kernel without a name",
                                    "a provider as a number"])
def test_the_jobs_runner_check_gives_the_schemas_verdict_and_message(change: str) -> None:
    verdicts = []
    for check in (lambda r: formats.validate(r, formats.RUNNER, where="runner"),
                  lambda r: formats.validate_runner(r, where="runner")):
        try:
            check(_broken_result(change))
        except errors.FormatError as exc:
            verdicts.append(str(exc))
        else:
            verdicts.append("valid")
    assert verdicts[0] == verdicts[1]
    assert (verdicts[0] == "valid") == (change in ("none", "calls as a whole float"))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("events-*.jsonl")), ids=lambda p: p.name)
def test_released_event_streams_still_validate(path: Path) -> None:
    version = path.stem.split("-")[1]
    for line in path.read_text().splitlines():
        formats.validate(json.loads(line), f"workbench.events/{version}")


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("events-*.jsonl")), ids=lambda p: p.name)
def test_the_host_reads_every_released_event_stream_as_stages(path: Path) -> None:
    from workbench.devices._stream import AgentStream

    seen: list[dict[str, Any]] = []
    stream = AgentStream("fixture", seen.append)
    for line in path.read_text().splitlines():
        stream.feed(line)
    assert stream.finish(0, "")["latency_ms"]
    stages = [event["stage"] for event in seen if event["event"] == "stage"]
    assert {"create", "warmup", "timed", "profile"} <= set(stages)
    for event in seen:
        formats.validate(event, formats.EVENTS)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("profile-*.json")), ids=lambda p: p.name)
def test_released_profiles_still_load(path: Path) -> None:
    assert wb.Profile.load(path).layers


def test_a_fixture_exists_for_every_released_format() -> None:
    fixtures = {"-".join(p.name.split(".")[0].split("-")[:2]) for p in FIXTURES.iterdir()}
    for identifier in formats.SCHEMAS:
        kind, version = identifier.removeprefix("workbench.").split("/")
        assert f"{kind}-{version}" in fixtures, f"no fixture of {identifier}"


def test_a_document_that_breaks_its_schema_names_the_place() -> None:
    with pytest.raises(errors.FormatError, match="run"):
        formats.validate({"schema": "workbench.job/1", "id": "x", "model": {"path": "m",
                          "sha256": "s"}, "backend": {"name": "b", "runner": "r", "options": {}},
                          "inputs": [], "run": {"warmup": -1, "runs": 1}}, formats.JOB)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("comparison-*.json")), ids=lambda p: p.name)
def test_released_comparisons_still_validate(path: Path) -> None:
    version = path.stem.split("-")[1]
    formats.validate(json.loads(path.read_text()), f"workbench.comparison/{version}")


def test_validating_a_job_in_a_new_process_leaves_out_the_iri_grammars() -> None:
    """jsonschema imports rfc3987_syntax when installed, which compiles grammars for seconds
    at import: a command-line profile validates its job without it, and leaves nothing that
    would stop a later import of it."""
    import subprocess
    import sys

    script = ("import sys\n"
              "from workbench import errors, formats\n"
              "try:\n"
              "    formats.validate({}, formats.JOB, where='job')\n"
              "except errors.FormatError as exc:\n"
              "    print('refused:', exc.what)\n"
              "print(sys.modules.get('rfc3987_syntax', 'absent'))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=True)
    assert "refused: Not a valid workbench.job/1 document" in done.stdout
    assert done.stdout.splitlines()[-1] == "absent"
