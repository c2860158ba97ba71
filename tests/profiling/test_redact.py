"""Profile.redact: who and where it ran goes, what ran and how fast stays."""

from __future__ import annotations

import copy
import json
import socket
from typing import Any

import pytest

from workbench.profiling import Profile


def leaky(document: dict[str, Any]) -> dict[str, Any]:
    document["label"] = "alice's run on pi5.lab.example.org"
    document["device"]["hostname"] = "pi5.lab.example.org"
    document["device"]["cpu"]["cpuinfo"] = ("processor\t: 0\nCPU part\t: 0xd0b\n"
                                            "Serial\t\t: 10000000abcdef01\n")
    document["model"]["source"] = "/home/alice/models/tinycnn.onnx"
    document["backend"]["options"]["cache_dir"] = "C:\\Users\\alice\\wb"
    document["warnings"] = [
        "ssh alice@192.168.1.42 dropped; retried via fe80::1ff:fe23:4567:890a%eth0",
        "board MAC dc:a6:32:01:02:03 seen at 12:34:56",
        "the root file system is almost full",
        f"built on {socket.gethostname()}",
    ]
    document["layers"][1]["name"] = "/features/0/Conv"
    return document


def redacted(document: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return Profile(leaky(document)).redact(**kwargs).document


def test_names_paths_and_addresses_are_taken_out(profile_document: dict[str, Any]) -> None:
    text = json.dumps(redacted(profile_document))
    for secret in ("alice", "192.168.1.42", "fe80::1ff", "dc:a6:32", "pi5.lab.example.org",
                   "10000000abcdef01", "/home/", "Users", socket.gethostname()):
        assert secret not in text, secret


def test_what_ran_and_how_fast_is_kept(profile_document: dict[str, Any]) -> None:
    original = copy.deepcopy(leaky(profile_document))
    clean = redacted(profile_document)
    assert clean["model"]["sha256"] == original["model"]["sha256"]
    assert clean["latency"] == original["latency"]
    assert clean["layers"] == original["layers"]  # graph names like /features/0/Conv stay
    assert clean["device"]["cpu"]["clusters"] == original["device"]["cpu"]["clusters"]
    assert "CPU part\t: 0xd0b" in clean["device"]["cpu"]["cpuinfo"]
    assert clean["versions"] == original["versions"]
    assert "12:34:56" in clean["warnings"][1]  # a time is not an IPv6 address
    assert clean["warnings"][2] == "the root file system is almost full"


def test_placeholders_say_what_was_there(profile_document: dict[str, Any]) -> None:
    clean = redacted(profile_document)
    assert clean["device"]["hostname"] == "<host>"
    assert clean["model"]["source"] == "<path>"
    assert "<user>@<host>" in clean["warnings"][0] and "<ip>" in clean["warnings"][0]
    assert "<mac>" in clean["warnings"][1]


def test_extra_words_are_taken_out_too(profile_document: dict[str, Any]) -> None:
    profile_document["label"] = "project-falcon baseline"
    clean = Profile(profile_document).redact(words=["project-falcon"]).document
    assert clean["label"] == "<redacted> baseline"


def test_the_original_profile_is_unchanged(profile_document: dict[str, Any]) -> None:
    profile = Profile(leaky(profile_document))
    before = copy.deepcopy(profile.document)
    profile.redact()
    assert profile.document == before


def test_a_redacted_profile_is_still_a_valid_profile(profile_document: dict[str, Any],
                                                     tmp_path: Any) -> None:
    path = Profile(leaky(profile_document)).redact().save(tmp_path / "shared.json")
    assert Profile.load(path).latency == Profile(profile_document).latency


def test_a_single_extra_word_given_as_a_string_is_taken_out_whole(
        profile_document: dict[str, Any]) -> None:
    profile_document["label"] = "project-falcon baseline"
    clean = Profile(profile_document).redact(words="project-falcon").document
    assert clean["label"] == "<redacted> baseline"


@pytest.mark.parametrize("alias", ["board7.lab.acme-corp.com", "alice-pi5"])
def test_the_device_alias_is_taken_out_wherever_it_occurs(profile_document: dict[str, Any],
                                                          alias: str) -> None:
    document = leaky(profile_document)
    document["device"]["name"] = alias
    document["warnings"] = [*document.get("warnings", []), f"{alias} was busy for 3 s"]
    clean = Profile(document).redact().document
    assert clean["device"]["name"] == "<host>"
    assert alias not in json.dumps(clean)
    assert clean["warnings"][-1].endswith("was busy for 3 s")
