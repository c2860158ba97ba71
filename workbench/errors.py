"""The error tree of Edge Workbench.

Every failure a user can cause raises a subclass of :class:`WorkbenchError`.
Each carries three parts, so front ends can show them apart:

* ``what``: what happened, in one sentence;
* ``where``: the file, device, option or job it happened at;
* ``hint``: what to do next.

``str(error)`` joins them into one readable message. The CLI prints that
message without a traceback; the widgets and the lab extension show the
parts separately.

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
    │   └── UnknownZooModel          ``zoo:NAME`` with an unknown name
    ├── OptionError
    │   ├── UnknownOption            a backend or run option nobody takes
    │   └── InvalidOptionValue       a value of the wrong type or outside the allowed set
    ├── InputSpecError               an input spec that cannot produce the model's inputs
    ├── FormatError                  a job, event or runner document that breaks its schema
    ├── BackendError
    │   ├── BackendNotFound          no plug-in of that name
    │   └── BackendUnavailable       the backend's runtime is not on the device
    ├── DeviceError
    │   ├── DeviceNotFound           no device of that name
    │   ├── UnreachableHost          no answer: wrong address, host down, network, timeout
    │   │   └── ConnectionRefused    the host answers but nothing listens on the SSH port
    │   ├── UnknownHostKey           the board's host key is not in any known_hosts file
    │   ├── HostKeyChanged           the board presents another key than known_hosts says
    │   ├── AuthenticationFailed     the board refused the login
    │   ├── LinkDropped              the connection died mid-upload or mid-run
    │   ├── BoardPythonMissing       no usable Python on the board (missing or too old)
    │   ├── UnsupportedPlatform      no runtime wheel for the board's platform/Python
    │   ├── DiskFull                 no room on the board for an upload or a job
    │   ├── ArtifactCorrupt          an uploaded file's hash does not match on the board
    │   ├── DeviceBusy               another job held the device past the wait limit
    │   ├── AgentError               the agent failed (exit code, stderr tail)
    │   │   └── AgentCrashed         the agent died without a result (killed, OOM)
    │   ├── JobTimeout               the job ran past its time limit and was stopped
    │   └── JobCancelled             the user cancelled the job
    ├── ProfileError
    │   └── ProfileFormatError       a profile document of unknown version or shape
    ├── HistoryError                 no saved profile of that id, or it cannot be kept
    └── TargetError
        ├── UnknownTarget            no catalog board or core of that name
        └── EstimateError            a roofline estimate cannot be made (no clock, no bandwidth)
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base of every error a user can cause. Carries what, where and a hint."""

    default_hint: str = ""

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

    def to_dict(self) -> dict[str, str | None]:
        """The error as a JSON-able dict, for the agent's event stream and REST answers."""
        return {"type": type(self).__name__, "what": self.what, "where": self.where,
                "hint": self.hint}


# --- models ---------------------------------------------------------------


class ModelError(WorkbenchError):
    """A model could not be loaded or analysed."""


class ModelNotFound(ModelError):
    default_hint = ("Check the path, or use zoo:NAME for a bundled model "
                    "(`workbench zoo` lists them)")


class ModelTruncated(ModelError):
    default_hint = "The file is empty or cut short; copy or export it again"


class NotAnOnnxModel(ModelError):
    default_hint = "Give an .onnx file (ONNX protobuf); convert other formats to ONNX first"


class MissingExternalData(ModelError):
    default_hint = ("Keep the external-data file next to the .onnx file, with "
                    "the name the model expects")


class UnsupportedOpset(ModelError):
    default_hint = ("Convert the model to a supported opset "
                    "(onnx.version_converter) or upgrade onnxruntime")


class InvalidGraph(ModelError):
    default_hint = ("Fix the graph where the checker points "
                    "(onnx.checker.check_model shows the same)")


class InvalidTfliteModel(ModelError):
    default_hint = "The .tflite file is corrupt; copy or convert it again"


class UnsupportedConversion(ModelError):
    default_hint = ("Build the .tflite model with a converter that knows the op "
                    "(e.g. ai-edge-torch or onnx2tf) and load that file")


class UnknownZooModel(ModelError):
    default_hint = "Run `workbench zoo` to list the bundled models"


# --- options and inputs -------------------------------------------------------


class OptionError(WorkbenchError):
    """An option of a backend or of the run settings is not accepted."""


class UnknownOption(OptionError):
    pass


class InvalidOptionValue(OptionError):
    pass


class InputSpecError(WorkbenchError):
    """An input spec cannot produce the inputs the model expects."""


class FormatError(WorkbenchError):
    """A document (job, event stream, runner result) does not match its schema."""

    default_hint = "The document was written by another version or edited by hand; re-create it"


# --- backends -----------------------------------------------------------------


class BackendError(WorkbenchError):
    """A backend plug-in is missing or cannot run."""


class BackendNotFound(BackendError):
    default_hint = "Run `workbench backends` to list the installed backends"


class BackendUnavailable(BackendError):
    pass


# --- devices and jobs ---------------------------------------------------------


class DeviceError(WorkbenchError):
    """A device could not be reached or failed to run a job."""


class DeviceNotFound(DeviceError):
    default_hint = "Run `workbench devices` to list the known devices"


class UnreachableHost(DeviceError):
    default_hint = ("Check the address and that the board is on and on the network "
                    "(ping it, or ssh to it by hand)")


class ConnectionRefused(UnreachableHost):
    default_hint = "Check that sshd runs on the board and the port is right (ssh -p PORT host)"


class UnknownHostKey(DeviceError):
    """The host key is unknown; carries ``fingerprint`` and ``key_type``."""

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None,
                 fingerprint: str = "", key_type: str = "") -> None:
        self.fingerprint = fingerprint
        self.key_type = key_type
        super().__init__(what, where=where, hint=hint)


class HostKeyChanged(DeviceError):
    default_hint = ("Someone may be intercepting the connection, or the board was reinstalled. "
                    "If you know why it changed, remove the old key (ssh-keygen -R HOST) and "
                    "connect again; the workbench never replaces a known key by itself")


class AuthenticationFailed(DeviceError):
    default_hint = ("Check the user name and that your public key is in the board's "
                    "~/.ssh/authorized_keys (ssh-copy-id USER@HOST), or give a password")


class LinkDropped(DeviceError):
    default_hint = "Check the network and run again: uploads resume from the bytes already there"


class BoardPythonMissing(DeviceError):
    default_hint = "Install Python 3.8 or newer on the board (e.g. apt install python3)"


class UnsupportedPlatform(DeviceError):
    default_hint = "Bring your own runtime bundle (a wheel or an SDK folder) for this board"


class DiskFull(DeviceError):
    default_hint = "Free space on the board, or run `workbench device clean NAME`"


class ArtifactCorrupt(DeviceError):
    default_hint = "Run again; the file is uploaded anew. If it repeats, check the board's storage"


class DeviceBusy(DeviceError):
    default_hint = "Wait for the running job to finish, or run on another device"


class AgentError(DeviceError):
    """The agent reported a failure or exited non-zero. Carries exit code and stderr tail."""

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None,
                 exit_code: int | None = None, stderr_tail: str = "") -> None:
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail
        if stderr_tail:
            what = f"{what.rstrip('.')}; last lines of its stderr:\n{stderr_tail.rstrip()}\n"
        super().__init__(what, where=where, hint=hint)


class AgentCrashed(AgentError):
    default_hint = ("The agent died without a result (killed, out of memory, or crashed in the "
                    "runtime); check the device's free memory and run the job again")


class JobTimeout(DeviceError):
    default_hint = "Raise the job's timeout, or lower the number of runs"


class JobCancelled(DeviceError):
    default_hint = "Nothing was kept from the cancelled job; run it again when ready"


# --- profiles -----------------------------------------------------------------


class ProfileError(WorkbenchError):
    """A profile document cannot be used."""


class ProfileFormatError(ProfileError):
    default_hint = "Open it with the Edge Workbench version that wrote it, or re-run the job"


class HistoryError(WorkbenchError):
    """The results store cannot find or keep a profile."""

    default_hint = "List the saved profiles with `workbench history`"


# --- targets ------------------------------------------------------------------


class TargetError(WorkbenchError):
    """A catalog target cannot be found or used."""


class UnknownTarget(TargetError):
    default_hint = "Run `workbench targets` to list the catalog's boards and cores"


class EstimateError(TargetError):
    default_hint = "Estimate on a catalog board (`workbench targets`), or calibrate the device"
