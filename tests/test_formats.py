"""The versioned documents: schemas are valid, and every released fixture still loads."""

from __future__ import annotations

import json
from pathlib import Path

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


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("events-*.jsonl")), ids=lambda p: p.name)
def test_released_event_streams_still_validate(path: Path) -> None:
    for line in path.read_text().splitlines():
        formats.validate(json.loads(line), formats.EVENTS)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("profile-*.json")), ids=lambda p: p.name)
def test_released_profiles_still_load(path: Path) -> None:
    assert wb.Profile.load(path).layers


def test_a_fixture_exists_for_every_released_format() -> None:
    names = {p.name.split("-")[0] for p in FIXTURES.iterdir()}
    assert names >= {"job", "events", "runner", "profile"}


def test_a_document_that_breaks_its_schema_names_the_place() -> None:
    with pytest.raises(errors.FormatError, match="run"):
        formats.validate({"schema": "workbench.job/1", "id": "x", "model": {"path": "m",
                          "sha256": "s"}, "backend": {"name": "b", "runner": "r", "options": {}},
                          "inputs": [], "run": {"warmup": -1, "runs": 1}}, formats.JOB)
