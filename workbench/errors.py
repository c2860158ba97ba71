"""The error tree of Edge Workbench.

Every failure a user can cause raises a subclass of :class:`WorkbenchError`.
Each carries three parts, so front ends can show them apart:

* ``what``: what happened, in one sentence;
* ``where``: the file, device, option or job it happened at;
* ``hint``: what to do next.

Some classes carry more fields (:attr:`WorkbenchError.fields`): an
:class:`AgentError` its exit code and the tail of the agent's stderr, an
:class:`UnknownHostKey` the key's fingerprint and type. ``to_dict()``
carries them all; ``str(error)`` joins only what, where and hint into one
readable message. The CLI prints that message without a traceback (and an
agent's stderr tail below it); the widgets and the lab extension show the
parts separately. A default hint speaks to every caller (often of the CLI);
a front end with a next step of its own (the model picker's zoo list beside
its path box) shows ``error.with_hint(...)``, the same error with that hint.

The tree groups errors by what a caller catches. Under :class:`DeviceError`,
:class:`ConnectionFailed` means the device could not be reached or the link
to it broke (check the network, the keys, the login; running again may
work), :class:`BoardEnvironmentError` means the board lacks something the
job needs (install or free it there), and :class:`JobFailed` means the
connection and the board were fine but this job did not produce a profile.
A link that drops mid-upload or mid-run is a :class:`ConnectionFailed`, not a
:class:`JobFailed`: its remedy is the network's, and an upload resumes.

Tree::

    WorkbenchError
    ├── ModelError
    │   ├── ModelNotFound            the path does not exist
    │   ├── ModelTruncated           empty or cut-short file
    │   ├── NotAnOnnxModel           bytes that do not parse as ONNX
    │   ├── MissingExternalData      a weights file beside the model is missing or short
    │   ├── UnsupportedOpset         opset outside what the runtime supports
    │   ├── InvalidGraph             the ONNX checker or shape inference rejects it
    │   ├── InvalidTfliteModel       a .tflite flatbuffer that is corrupt or not TFLite
    │   ├── UnsupportedConversion    an ONNX graph the TFLite twin builder cannot express
    │   ├── UnknownZooModel          ``zoo:NAME`` with an unknown name
    │   ├── UploadTooLarge           an uploaded file over the upload limit (give a path)
    │   └── JobModelChanged          a job to collect whose model is gone or changed
    ├── OptionError
    │   ├── UnknownOption            a backend or run option nobody takes
    │   └── InvalidOptionValue       a value of the wrong type or outside the allowed set
    ├── InputSpecError               an input spec that cannot produce the model's inputs
    ├── FormatError                  a job, event or runner document that breaks its schema
    │   └── ProfileFormatError       (also a ProfileError, see below)
    ├── BackendError
    │   ├── BackendNotFound          no plug-in of that name
    │   ├── BackendUnavailable       the backend's runtime is not on the device
    │   └── UnsupportedOperator      the runtime cannot parse or run an operator of the model
    ├── DeviceError
    │   ├── DeviceNotFound           no device of that name
    │   ├── DeviceExists             a device of that name is already registered
    │   ├── EmulatorUnavailable      this machine cannot run the emulated board (and why)
    │   ├── FarmError                a labgrid board farm refused or failed a step
    │   │   ├── FarmNotInstalled     a ``labgrid:`` device without the ``farm`` extra
    │   │   ├── CoordinatorUnreachable  the coordinator does not answer, or went away
    │   │   └── HoldEnded            a reserved place was given back (time limit, released)
    │   ├── ConnectionFailed         the device cannot be reached, or the link to it broke
    │   │   ├── UnreachableHost      no answer: wrong address, host down, network, timeout
    │   │   │   └── ConnectionRefused  the host answers but nothing listens on the SSH port
    │   │   ├── UnknownHostKey       the board's host key is not in any known_hosts file
    │   │   ├── HostKeyChanged       the board presents another key than known_hosts says
    │   │   ├── AuthenticationFailed the board refused the login
    │   │   └── LinkDropped          the connection died mid-upload or mid-run
    │   ├── BoardEnvironmentError    the board lacks what the job needs
    │   │   ├── BoardPythonMissing   no usable Python on the board (missing or too old)
    │   │   ├── UnsupportedPlatform  no runtime wheel for the board's platform/Python
    │   │   ├── DiskFull             no room on the board for an upload or a job
    │   │   └── ArtifactCorrupt      an uploaded file's hash does not match on the board
    │   └── JobFailed                the job ran into trouble and gave no profile
    │       ├── AgentError           the agent failed (exit code, stderr tail)
    │       │   └── AgentCrashed     the agent died without a result (killed, OOM)
    │       ├── JobTimeout           the job ran past its time limit and was stopped
    │       ├── JobCancelled         the user cancelled the job
    │       ├── DeviceBusy           another job held the device past the wait limit
    │       ├── JobNotFound          no job of that id waits here to be collected
    │       ├── JobStillRunning      the job to collect has not finished on its board
    │       └── JobGone              the board no longer has the job to collect
    ├── ProfileError
    │   ├── ProfileFormatError       a profile document of unknown version or shape
    │   └── ReportNotWritten         a command's report or JSON could not be written after
    │                                its job (carries the lines it printed before)
    ├── HistoryError                 no saved profile of that id, or it cannot be kept
    ├── AccuracyError
    │   ├── OutputsMissing           the profile holds no output values to compare
    │   ├── ReferenceUnavailable     no host reference: model or inputs cannot be rebuilt
    │   ├── LayerDiffUnavailable     no tensors between layers: no diff=True, a runner API 1
    │   └── QuantizationFailed       the quantiser refused the model or its calibration data
    └── TargetError
        ├── UnknownTarget            no catalog board or core of that name
        └── EstimateError            a roofline estimate cannot be made (no clock, no bandwidth)
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

__all__ = [
    "AccuracyError", "AgentCrashed", "AgentError", "ArtifactCorrupt", "AuthenticationFailed",
    "BackendError", "BackendNotFound", "BackendUnavailable", "BoardEnvironmentError",
    "BoardPythonMissing", "ConnectionFailed", "ConnectionRefused", "CoordinatorUnreachable",
    "DeviceBusy", "DeviceError", "DeviceExists", "DeviceNotFound", "DiskFull",
    "EmulatorUnavailable", "EstimateError", "FarmError", "FarmNotInstalled", "FormatError",
    "HistoryError", "HoldEnded",
    "HostKeyChanged", "InputSpecError", "InvalidGraph", "InvalidOptionValue", "InvalidTfliteModel",
    "JobCancelled", "JobFailed", "JobGone", "JobModelChanged", "JobNotFound", "JobStillRunning",
    "JobTimeout", "LayerDiffUnavailable", "LinkDropped", "MissingExternalData", "ModelError",
    "ModelNotFound", "ModelTruncated", "NotAnOnnxModel", "OptionError", "OutputsMissing",
    "ProfileError", "ProfileFormatError", "QuantizationFailed", "ReferenceUnavailable",
    "ReportNotWritten", "TargetError", "UnknownHostKey", "UnknownOption", "UnknownTarget",
    "UnknownZooModel", "UnreachableHost", "UnsupportedConversion", "UnsupportedOperator",
    "UnsupportedOpset", "UnsupportedPlatform", "UploadTooLarge", "WorkbenchError",
]


class WorkbenchError(Exception):
    """Base of every error a user can cause. Carries what, where and a hint."""

    #: the hint used when a raise site gives none
    default_hint: ClassVar[str] = "Fix what the message names, then try again"
    #: attributes beyond what/where/hint that ``to_dict()`` carries
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.what = what
        self.where = where
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(self._format())

    def _format(self) -> str:
        text = self.what.rstrip(".")
        if self.where:
            text += f" ({self.where})"
        text += "."
        if self.hint:
            text += f" {self.hint.rstrip('.')}."
        return text

    def with_hint(self, hint: str) -> WorkbenchError:
        """The same error (class, what, where, fields) with another next step.

        For a front end whose own next step differs from the library's default:
        the model picker's "pick from the zoo list beside it" where the CLI says
        "run `workbench zoo`". The error itself is left as it is.
        """
        other = copy.copy(self)
        other.hint = hint
        other.args = (other._format(),)
        # where it came from goes along: its cause, and the traceback of where it was raised
        other.__cause__, other.__context__ = self.__cause__, self.__context__
        other.__suppress_context__ = self.__suppress_context__
        return other.with_traceback(self.__traceback__)

    def to_dict(self) -> dict[str, Any]:
        """The error as a JSON-able dict, for the agent's event stream and REST answers."""
        return {"type": type(self).__name__, "what": self.what, "where": self.where,
                "hint": self.hint, **{name: getattr(self, name) for name in self.fields}}


# --- models ---------------------------------------------------------------


class ModelError(WorkbenchError):
    """A model could not be loaded or analysed."""

    default_hint = "Check the model with `workbench inspect MODEL`"


class ModelNotFound(ModelError):
    """The model's path does not exist."""

    default_hint = ("Check the path, or use zoo:NAME for a bundled model "
                    "(`workbench zoo` lists them)")


class ModelTruncated(ModelError):
    """The model file is empty or cut short."""

    default_hint = "The file is empty or cut short; copy or export it again"


class NotAnOnnxModel(ModelError):
    """The file's bytes do not parse as an ONNX model."""

    default_hint = "Give an .onnx file (ONNX protobuf); convert other formats to ONNX first"


class MissingExternalData(ModelError):
    """A weights file the model refers to is missing or short."""

    default_hint = ("Keep the external-data file next to the .onnx file, with "
                    "the name the model expects")


class UnsupportedOpset(ModelError):
    """The model's opset is outside what the runtime supports."""

    default_hint = ("Convert the model to a supported opset "
                    "(onnx.version_converter) or upgrade onnxruntime")


class InvalidGraph(ModelError):
    """The ONNX checker or shape inference rejects the graph."""

    default_hint = ("Fix the graph where the checker points "
                    "(onnx.checker.check_model shows the same)")


class InvalidTfliteModel(ModelError):
    """A .tflite file is corrupt or not a TFLite flatbuffer."""

    default_hint = "The .tflite file is corrupt; copy or convert it again"


class UnsupportedConversion(ModelError):
    """An ONNX graph the TFLite twin builder cannot express."""

    default_hint = ("Build the .tflite model with a converter that knows the op "
                    "(e.g. ai-edge-torch or onnx2tf) and load that file")


class UnknownZooModel(ModelError):
    """``zoo:NAME`` names no bundled model."""

    default_hint = "Run `workbench zoo` to list the bundled models"


class UploadTooLarge(ModelError):
    """An uploaded model file is over the upload limit; a path carries any size."""

    default_hint = "Copy the file next to the notebook and give its path instead"


# --- options and inputs -------------------------------------------------------


class OptionError(WorkbenchError):
    """An option of a backend or of the run settings is not accepted."""

    default_hint = "Run `workbench backends` to list each backend's options"


class UnknownOption(OptionError):
    """An option no backend, run setting or device field takes."""

    default_hint = ("Check the option's name: `workbench backends` lists the backend options, "
                    "`workbench profile --help` the run settings")


class InvalidOptionValue(OptionError):
    """An option's value has the wrong type or is outside the allowed set."""

    default_hint = ("Check the value against the option's help: `workbench backends` lists the "
                    "backend options, `workbench profile --help` the run settings")


class InputSpecError(WorkbenchError):
    """An input spec cannot produce the inputs the model expects."""

    default_hint = ("Give one entry per model input, named and shaped as "
                    "`workbench inspect MODEL` lists them")


class FormatError(WorkbenchError):
    """A document (job, event stream, runner result) does not match its schema."""

    default_hint = "The document was written by another version or edited by hand; re-create it"


# --- backends -----------------------------------------------------------------


class BackendError(WorkbenchError):
    """A backend plug-in is missing or cannot run."""

    default_hint = "Run `workbench backends` to see the installed backends and their options"


class BackendNotFound(BackendError):
    """No backend plug-in has that name."""

    default_hint = "Run `workbench backends` to list the installed backends"


class BackendUnavailable(BackendError):
    """The backend's runtime or runner cannot be used on the device."""

    default_hint = ("Run `workbench device setup DEVICE` to install a runtime bundle on a board, "
                    "or choose another backend (`workbench backends`)")


class UnsupportedOperator(BackendError):
    """The backend's runtime cannot parse or run an operator of the model."""

    default_hint = ("Run the model with another backend (`workbench backends`), or replace the "
                    "operator in the model")


# --- devices and jobs ---------------------------------------------------------


class DeviceError(WorkbenchError):
    """A device could not be reached or failed to run a job."""

    default_hint = "Check the device with `workbench device probe NAME`"


class DeviceNotFound(DeviceError):
    """No device has that name."""

    default_hint = "Run `workbench devices` to list the known devices"


class DeviceExists(DeviceError):
    """A device of that name is already registered; adding it again would lose its entry."""

    default_hint = ("Pass --replace to `workbench devices add` (replace=True in Python) to "
                    "overwrite it, or choose another name")


class EmulatorUnavailable(DeviceError):
    """The emulated board cannot run on this machine (and why)."""

    default_hint = ("Use a real board, or a Linux 6.7+ machine with root, qemu-user-static "
                    "and mmdebstrap (bash tests/setup.sh installs them)")


class FarmError(DeviceError):
    """A labgrid board farm (its coordinator, a place, a reservation) refused or failed a step."""

    default_hint = "Look at the farm with `workbench farm status`"


class FarmNotInstalled(FarmError):
    """A ``labgrid:`` device was asked for, but labgrid (the ``farm`` extra) is not installed."""

    default_hint = ("Install the farm extra: pip install 'edge-workbench[farm]', or in a clone "
                    "of the project: pip install '.[farm]'")


class CoordinatorUnreachable(FarmError):
    """The labgrid coordinator does not answer, or went away while a job waited or ran."""

    default_hint = "Check that labgrid-coordinator runs and LG_COORDINATOR names it"


class HoldEnded(FarmError):
    """A place held with ``reserve()`` was given back (its time ran out, or it was left)."""

    default_hint = "Reserve again with `wb.reserve(...)`"


class ConnectionFailed(DeviceError):
    """The device cannot be reached, refuses the login, or the link to it broke."""

    default_hint = ("Check that the board is on and that `ssh` to it works by hand, "
                    "then run again")


class UnreachableHost(ConnectionFailed):
    """Nothing answers at the device's address (wrong address, host down, network)."""

    default_hint = ("Check the address and that the board is on and on the network "
                    "(ping it, or ssh to it by hand)")


class ConnectionRefused(UnreachableHost):
    """The host answers but nothing listens on the SSH port."""

    default_hint = "Check that sshd runs on the board and the port is right (ssh -p PORT host)"


class UnknownHostKey(ConnectionFailed):
    """The host key is unknown; carries ``fingerprint`` and ``key_type``."""

    default_hint = ("Check the fingerprint with the board's owner, then trust it with "
                    "`workbench device trust NAME FINGERPRINT`")
    fields = ("fingerprint", "key_type")

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None,
                 fingerprint: str = "", key_type: str = "") -> None:
        self.fingerprint = fingerprint
        self.key_type = key_type
        super().__init__(what, where=where, hint=hint)


class HostKeyChanged(ConnectionFailed):
    """The board presents another host key than known_hosts holds for it."""

    default_hint = ("Someone may be intercepting the connection, or the board was reinstalled. "
                    "If you know why it changed, remove the old key (ssh-keygen -R HOST) and "
                    "connect again; the workbench never replaces a known key by itself")


class AuthenticationFailed(ConnectionFailed):
    """The board refused the login."""

    default_hint = ("Check the user name and that your public key is in the board's "
                    "~/.ssh/authorized_keys (ssh-copy-id USER@HOST), or give a password")


class LinkDropped(ConnectionFailed):
    """The connection died mid-upload or mid-run."""

    default_hint = "Check the network and run again: uploads resume from the bytes already there"


class BoardEnvironmentError(DeviceError):
    """The board lacks something a job needs: Python, a runtime, room, an intact file."""

    default_hint = "Run `workbench device setup NAME` to check and prepare the board"


class BoardPythonMissing(BoardEnvironmentError):
    """The board has no usable Python (missing or too old)."""

    default_hint = "Install Python 3.8 or newer on the board (e.g. apt install python3)"


class UnsupportedPlatform(BoardEnvironmentError):
    """No runtime wheel fits the board's platform and Python."""

    default_hint = "Bring your own runtime bundle (a wheel or an SDK folder) for this board"


class DiskFull(BoardEnvironmentError):
    """The board has no room for an upload or a job."""

    default_hint = "Free space on the board, or run `workbench device clean NAME`"


class ArtifactCorrupt(BoardEnvironmentError):
    """An uploaded file's hash does not match on the board."""

    default_hint = "Run again; the file is uploaded anew. If it repeats, check the board's storage"


class JobFailed(DeviceError):
    """The device was reached but the job gave no profile: agent failure, timeout, cancel, busy."""

    default_hint = "Run the job again; `workbench device status NAME` shows the board's jobs"


class AgentError(JobFailed):
    """The agent failed or exited non-zero; carries ``exit_code`` and ``stderr_tail``."""

    default_hint = ("The agent's stderr tail shows the cause; fix what it names and run again, "
                    "or check the device with `workbench device probe NAME`")
    fields = ("exit_code", "stderr_tail")

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None,
                 exit_code: int | None = None, stderr_tail: str = "") -> None:
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail
        super().__init__(what, where=where, hint=hint)


class AgentCrashed(AgentError):
    """The agent died without a result (killed, out of memory, crashed in the runtime)."""

    default_hint = ("Check the device's free memory, and the agent's stderr tail for a crash in "
                    "the runtime, then run the job again")


class JobTimeout(JobFailed):
    """The job ran past its time limit and was stopped."""

    default_hint = "Raise the job's timeout, or lower the number of runs"


class JobCancelled(JobFailed):
    """The user cancelled the job."""

    default_hint = "Nothing was kept from the cancelled job; run it again when ready"


class DeviceBusy(JobFailed):
    """Another job held the device past the wait limit."""

    default_hint = "Wait for the running job to finish, or run on another device"


# --- profiles -----------------------------------------------------------------


class ProfileError(WorkbenchError):
    """A profile document cannot be used."""

    default_hint = "Load a profile saved by Profile.save, or one `workbench history` lists"


class ReportNotWritten(ProfileError):
    """A command cannot write its report or profile JSON (before the job, or after it)."""

    # ``lines``: what the command had to print (the summary, the files written before), so a
    # front end shows them above the error and the job's result is not lost with the file
    default_hint = "Check the free space and permissions of the folder, then run again"
    fields = ("lines",)

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None,
                 lines: list[str] | None = None) -> None:
        self.lines = list(lines or [])
        super().__init__(what, where=where, hint=hint)


class ProfileFormatError(ProfileError, FormatError):
    """A profile document of unknown version or shape (a ProfileError and a FormatError)."""

    default_hint = "Open it with the Edge Workbench version that wrote it, or re-run the job"


class HistoryError(WorkbenchError):
    """The results store cannot find or keep a profile."""

    default_hint = "List the saved profiles with `workbench history`"


# --- accuracy -----------------------------------------------------------------


class AccuracyError(WorkbenchError):
    """Outputs cannot be checked against a reference, or a model cannot be quantised."""

    default_hint = "Run the job with keep_outputs=True, on a model this host can load"


class OutputsMissing(AccuracyError):
    """The profile holds no output values to compare."""

    default_hint = "Run the job again with keep_outputs=True"


class ReferenceUnavailable(AccuracyError):
    """A reference cannot be made: the model or the inputs cannot be rebuilt on the host."""

    default_hint = "Pass the model (model=...) or load the profile on the host that ran it"


class LayerDiffUnavailable(AccuracyError):
    """A profile has no tensors between layers to diff: none asked for, or none exposable."""

    default_hint = "Run the job again with diff=True on a backend whose runner speaks runner API 2"


class QuantizationFailed(AccuracyError):
    """The quantiser refused the model or its calibration data."""

    default_hint = "Check the model with `workbench inspect`, or try method='dynamic'"


# --- targets ------------------------------------------------------------------


class TargetError(WorkbenchError):
    """A catalog target cannot be found or used."""

    default_hint = "Check the board or core with `workbench target NAME`"


class UnknownTarget(TargetError):
    """No catalog board or core has that name."""

    default_hint = "Run `workbench targets` to list the catalog's boards and cores"


class EstimateError(TargetError):
    """A roofline estimate cannot be made (no clock, no bandwidth, symbolic shapes)."""

    default_hint = "Estimate on a catalog board (`workbench targets`), or calibrate the device"


class JobNotFound(JobFailed):
    """No job this host started and never collected has the given id."""

    default_hint = "List the jobs waiting to be collected with `workbench jobs`"


class JobStillRunning(JobFailed):
    """The job to collect has not finished on its board yet."""

    default_hint = "Wait for it: `workbench jobs collect ID --wait`"


class JobGone(JobFailed):
    """The board no longer has the job's folder (cleaned, or removed after a week)."""

    default_hint = "Run the job again"


class JobModelChanged(ModelError):
    """The model of a job to collect is gone or differs from the one the job ran."""

    default_hint = "Put the model the job ran back at its path, or run the job again"
