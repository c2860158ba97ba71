"""The error tree: groups a caller can catch, a hint on every class, the agent's fields
apart from the message, names the agent's events rebuild, and every old name kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from workbench import errors
from workbench.devices.base import error_from_event

PUBLIC_CLASSES = [getattr(errors, name) for name in errors.__all__]

GROUPS = {
    errors.ConnectionFailed: [errors.UnreachableHost, errors.ConnectionRefused,
                              errors.UnknownHostKey, errors.HostKeyChanged,
                              errors.AuthenticationFailed, errors.LinkDropped],
    errors.BoardEnvironmentError: [errors.BoardPythonMissing, errors.UnsupportedPlatform,
                                   errors.DiskFull, errors.ArtifactCorrupt],
    errors.JobFailed: [errors.AgentError, errors.AgentCrashed, errors.JobTimeout,
                       errors.JobCancelled, errors.DeviceBusy, errors.JobNotFound,
                       errors.JobStillRunning, errors.JobGone],
    errors.FarmError: [errors.FarmNotInstalled, errors.CoordinatorUnreachable, errors.HoldEnded],
}

# Every class of the tree before it was grouped, with the class it derived from then.
OLD_PARENTS = {
    "ModelError": "WorkbenchError", "ModelNotFound": "ModelError",
    "ModelTruncated": "ModelError", "NotAnOnnxModel": "ModelError",
    "MissingExternalData": "ModelError", "UnsupportedOpset": "ModelError",
    "InvalidGraph": "ModelError", "InvalidTfliteModel": "ModelError",
    "UnsupportedConversion": "ModelError", "UnknownZooModel": "ModelError",
    "OptionError": "WorkbenchError", "UnknownOption": "OptionError",
    "InvalidOptionValue": "OptionError", "InputSpecError": "WorkbenchError",
    "FormatError": "WorkbenchError", "BackendError": "WorkbenchError",
    "BackendNotFound": "BackendError", "BackendUnavailable": "BackendError",
    "DeviceError": "WorkbenchError", "DeviceNotFound": "DeviceError",
    "UnreachableHost": "DeviceError", "ConnectionRefused": "UnreachableHost",
    "UnknownHostKey": "DeviceError", "HostKeyChanged": "DeviceError",
    "AuthenticationFailed": "DeviceError", "LinkDropped": "DeviceError",
    "BoardPythonMissing": "DeviceError", "UnsupportedPlatform": "DeviceError",
    "DiskFull": "DeviceError", "ArtifactCorrupt": "DeviceError", "DeviceBusy": "DeviceError",
    "AgentError": "DeviceError", "AgentCrashed": "AgentError", "JobTimeout": "DeviceError",
    "JobCancelled": "DeviceError", "ProfileError": "WorkbenchError",
    "ProfileFormatError": "ProfileError", "HistoryError": "WorkbenchError",
    "TargetError": "WorkbenchError", "UnknownTarget": "TargetError",
    "EstimateError": "TargetError",
}


def _name(cls: type) -> str:
    return cls.__name__


# --- the tree -------------------------------------------------------------------------------


@pytest.mark.parametrize(("group", "cls"), [(g, c) for g, members in GROUPS.items()
                                            for c in members], ids=lambda c: c.__name__)
def test_each_device_error_sits_in_its_group_and_is_still_a_device_error(
        group: type[errors.DeviceError], cls: type[errors.DeviceError]) -> None:
    assert issubclass(cls, group)
    assert issubclass(cls, errors.DeviceError)
    assert [g for g in GROUPS if issubclass(cls, g)] == [group]


def test_device_error_has_only_the_groups_and_three_standalone_classes_below_it() -> None:
    direct = {c for c in PUBLIC_CLASSES if errors.DeviceError in c.__bases__}
    assert direct == {*GROUPS, errors.DeviceNotFound, errors.DeviceExists,
                      errors.EmulatorUnavailable}


@pytest.mark.parametrize(("name", "parent"), sorted(OLD_PARENTS.items()))
def test_every_old_class_is_importable_and_still_a_subclass_of_its_old_parent(
        name: str, parent: str) -> None:
    assert issubclass(getattr(errors, name), getattr(errors, parent))


def test_emulator_unavailable_lives_in_the_tree_and_stays_importable_from_the_emulator() -> None:
    from workbench.emulator import EmulatorUnavailable

    assert EmulatorUnavailable is errors.EmulatorUnavailable
    assert issubclass(EmulatorUnavailable, errors.DeviceError)


def test_a_profile_format_error_is_caught_as_a_format_error_and_as_a_profile_error() -> None:
    with pytest.raises(errors.FormatError):
        raise errors.ProfileFormatError("Not a profile document", where="p.json")
    assert issubclass(errors.ProfileFormatError, errors.ProfileError)


# --- every class ----------------------------------------------------------------------------


def test_all_lists_every_error_class_the_module_defines() -> None:
    defined = {name for name, value in vars(errors).items()
               if isinstance(value, type) and issubclass(value, BaseException)}
    assert defined == set(errors.__all__)


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=_name)
def test_every_class_is_a_workbench_error_with_a_one_line_docstring(cls: type) -> None:
    assert issubclass(cls, errors.WorkbenchError)
    doc = cls.__dict__.get("__doc__") or ""
    assert doc.strip() and "\n" not in doc.strip(), f"{cls.__name__} needs a one-line docstring"


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=_name)
def test_every_class_raised_without_a_hint_still_says_what_where_and_what_to_do(
        cls: type[errors.WorkbenchError]) -> None:
    error = cls("Something went wrong", where="somewhere")
    assert error.hint.strip()
    assert str(error) == f"Something went wrong (somewhere). {error.hint.rstrip('.')}."
    assert error.to_dict()["hint"] == error.hint and error.to_dict()["type"] == cls.__name__


def test_an_explicit_hint_replaces_the_default() -> None:
    error = errors.DiskFull("No room for the upload", hint="Remove old jobs first")
    assert error.hint == "Remove old jobs first" and str(error).endswith("Remove old jobs first.")


# --- fields apart from the message ----------------------------------------------------------


def test_an_agent_error_carries_exit_code_and_stderr_tail_as_fields_not_in_its_message() -> None:
    error = errors.AgentCrashed("The agent exited with code 3 without a result", where="pi5",
                                exit_code=3, stderr_tail="loading weights\narena exhausted\n")
    assert "loading weights" not in str(error) and "arena exhausted" not in str(error)
    assert error.to_dict() == {
        "type": "AgentCrashed", "what": "The agent exited with code 3 without a result",
        "where": "pi5", "hint": errors.AgentCrashed.default_hint, "exit_code": 3,
        "stderr_tail": "loading weights\narena exhausted\n"}


def test_an_unknown_host_key_carries_its_fingerprint_for_a_trust_button() -> None:
    error = errors.UnknownHostKey("The board's host key is unknown", where="pi5",
                                  fingerprint="SHA256:abc", key_type="ssh-ed25519")
    assert error.to_dict()["fingerprint"] == "SHA256:abc"
    assert error.to_dict()["key_type"] == "ssh-ed25519"


# --- rebuilt from the agent's events --------------------------------------------------------


@pytest.mark.parametrize("name", ["EmulatorUnavailable", "ProfileFormatError", "DeviceBusy"])
def test_an_error_event_is_rebuilt_as_the_class_it_names(name: str) -> None:
    rebuilt = error_from_event({"type": name, "what": "It failed", "where": "there"},
                               where="pi5", exit_code=1, stderr_tail="")
    assert type(rebuilt) is getattr(errors, name)
    assert rebuilt.where == "there" and rebuilt.hint == getattr(errors, name).default_hint


def test_an_error_event_naming_an_agent_error_keeps_the_exit_code_and_stderr_tail() -> None:
    rebuilt = error_from_event({"type": "AgentCrashed", "what": "Out of memory", "hint": ""},
                               where="pi5", exit_code=-9, stderr_tail="allocating\n")
    assert isinstance(rebuilt, errors.AgentCrashed)
    assert (rebuilt.exit_code, rebuilt.stderr_tail) == (-9, "allocating\n")
    assert rebuilt.where == "pi5" and rebuilt.hint == errors.AgentCrashed.default_hint


@pytest.mark.parametrize("name", ["annotations", "Any", "NoSuchError", "ValueError"])
def test_an_error_event_naming_no_class_of_the_tree_becomes_an_agent_error(name: str) -> None:
    rebuilt = error_from_event({"type": name, "what": "It failed"}, where="pi5", exit_code=1,
                               stderr_tail="boom\n")
    assert type(rebuilt) is errors.AgentError and rebuilt.stderr_tail == "boom\n"


# --- the CLI --------------------------------------------------------------------------------


CRASHING_BACKEND = '''
from pathlib import Path

from workbench.backends import Backend


class CrashingBackend(Backend):
    """Runs a runner that writes to stderr and exits without a result."""

    name = "crashing"
    formats = ("onnx",)
    runtime = "onnxruntime"
    description = "exits with code 3 after one line on stderr"
    options = ()

    def prepare(self, model, options):
        return model.files()

    def runner_path(self):
        return Path(__file__).resolve().parent / "runner.py"
'''

CRASHING_RUNNER = '''import os, sys
RUNNER_API = 1
def run(job, ctx):
    sys.stderr.write("loading weights from the flash card\\n")
    sys.stderr.flush()
    os._exit(3)
'''


def test_the_cli_prints_the_agents_stderr_tail_below_the_message(conv_model: Path,
                                                                  tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    (plugins / "crashing_backend").mkdir(parents=True)
    (plugins / "crashing_backend" / "__init__.py").write_text(CRASHING_BACKEND)
    (plugins / "crashing_backend" / "runner.py").write_text(CRASHING_RUNNER)
    info = plugins / "crashing_backend-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crashing-backend\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text("[workbench.backends]\n"
                                           "crashing = crashing_backend:CrashingBackend\n")
    env = dict(os.environ, COLUMNS="200",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "remote"), str(plugins)]))
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "profile", str(conv_model),
                           "--backend", "crashing", "--runs", "1", "--warmup", "0",
                           "--profile-runs", "0", "-q", "--out", str(tmp_path / "r.html")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    message, _, below = done.stderr.partition("the agent's stderr (exit code 3) ended with:")
    assert "error:" in message and "exited with code 3" in message
    assert "loading weights" not in message
    assert below.strip() == "loading weights from the flash card"
    assert "Traceback" not in done.stderr


def test_with_hint_gives_the_same_error_with_another_next_step_and_leaves_the_first() -> None:
    first = errors.ModelNotFound("The model file does not exist", where="/models/a.onnx")
    other = first.with_hint("Pick one from the list")
    assert type(other) is errors.ModelNotFound
    assert (other.what, other.where, other.hint) == (
        first.what, "/models/a.onnx", "Pick one from the list")
    assert str(other) == ("The model file does not exist (/models/a.onnx). "
                          "Pick one from the list.")
    assert first.hint == errors.ModelNotFound.default_hint and "workbench zoo" in str(first)
    # raised from a cause, the other keeps it and where it was raised
    try:
        try:
            raise OSError("no such file")
        except OSError as cause:
            raise first from cause
    except errors.ModelNotFound as raised:
        again = raised.with_hint("Pick one from the list")
    assert isinstance(again.__cause__, OSError) and again.__traceback__ is not None
