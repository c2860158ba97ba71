"""List and dict backend options typed on a command line: the short forms they accept, and an
error that shows the JSON form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench import backends, errors


def test_a_comma_list_is_a_list_of_names() -> None:
    checked = backends.get("onnxruntime").validate_options(
        {"providers": "XnnpackExecutionProvider, CPUExecutionProvider"})
    assert checked["providers"] == ["XnnpackExecutionProvider", "CPUExecutionProvider"]


def test_name_colon_number_pairs_are_a_dict_of_integers() -> None:
    checked = backends.get("onnxruntime").validate_options(
        {"free_dimension_overrides": "batch:2,seq:16"})
    assert checked["free_dimension_overrides"] == {"batch": 2, "seq": 16}


def test_a_dict_option_in_no_known_form_shows_the_json_form_in_the_hint() -> None:
    with pytest.raises(errors.InvalidOptionValue) as caught:
        backends.get("onnxruntime").validate_options({"free_dimension_overrides": "batch=2"})
    assert "is not a dict" in caught.value.what
    assert "-o 'free_dimension_overrides={\"NAME\":1}'" in caught.value.hint
    assert "NAME:N" in caught.value.hint


def test_a_list_option_with_an_empty_name_shows_the_json_form_in_the_hint() -> None:
    with pytest.raises(errors.InvalidOptionValue) as caught:
        backends.get("onnxruntime").validate_options({"providers": "A,,B"})
    assert "-o 'providers=[\"CPUExecutionProvider\"]'" in caught.value.hint


def test_the_command_accepts_a_bare_provider_name_and_hints_json_for_a_bad_dict(
        conv_model: Path, tmp_path: Path) -> None:
    from tests.test_cli import workbench

    done = workbench("profile", str(conv_model), "--runs", "2", "--warmup", "0",
                     "--profile-runs", "0", "-q", "-o", "providers=CPUExecutionProvider",
                     "--json", str(tmp_path / "p.json"), "--out", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    options = json.loads((tmp_path / "p.json").read_text())["backend"]["options"]
    assert options["providers"] == ["CPUExecutionProvider"]
    refused = workbench("profile", str(conv_model), "-q", "-o", "free_dimension_overrides=b")
    assert refused.returncode == 2
    assert "free_dimension_overrides={" in refused.stderr and "Traceback" not in refused.stderr


def test_a_dict_of_dicts_is_not_read_from_name_colon_number_text() -> None:
    # provider_options maps a provider to a dict of its options: "X:2" would pass a bare 2
    with pytest.raises(errors.InvalidOptionValue) as caught:
        backends.get("onnxruntime").validate_options(
            {"provider_options": "XnnpackExecutionProvider:2"})
    assert "NAME:N" not in (caught.value.hint or "")



def test_the_hint_for_provider_options_shows_a_dict_of_a_providers_options() -> None:
    with pytest.raises(errors.InvalidOptionValue) as caught:
        backends.get("onnxruntime").validate_options({"provider_options": "xnnpack"})
    hint = caught.value.hint or ""
    example = hint.split("provider_options=", 1)[1].split("'", 1)[0]
    assert json.loads(example) == {"XnnpackExecutionProvider": {"intra_op_num_threads": 2}}
    # the example is accepted as it is shown
    assert backends.get("onnxruntime").validate_options(
        {"provider_options": json.loads(example)})["provider_options"] == json.loads(example)
