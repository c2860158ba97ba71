"""Estimates for a front end: which board an estimate is for, then the estimate itself.

    from workbench.jobs.estimate import estimate, estimate_target
    estimate_target("raspberry-pi-5")              # a catalog board by name
    estimate_target(device="pi5")                  # the board detected on a device
    estimate(m, device="pi5", calibrate=True)      # with its measured ceilings

A roofline estimate needs a board of the catalog. A user names one, or names a
device whose detected board stands in for it; with ``calibrate`` the device's
measured compute and memory ceilings replace the datasheet's. Detecting and
calibrating need a live device, so the choice sits at the jobs level, above
:mod:`workbench.targets` (data and pure functions of text), where the command
line, the widgets and the lab server share it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from workbench import errors
from workbench.jobs.settings import parse_cluster

if TYPE_CHECKING:
    from workbench.devices.base import Device, DeviceInfo
    from workbench.models import Model
    from workbench.profiling import Profile
    from workbench.targets.calibration import Calibration
    from workbench.targets.target import Target

#: the ``where`` of the errors below: the estimate as a whole, not one argument
WHERE = "estimate"


def _device_name(device: Device | DeviceInfo | str) -> str:
    return device if isinstance(device, str) else device.name


def estimate_target(target: Target | str | None = None,
                    device: Device | DeviceInfo | str | None = None) -> Target:
    """The board an estimate is for: ``target`` when given, else the one detected on ``device``.

    ``target`` is a catalog board's name or a :class:`~workbench.targets.Target`;
    a device is then not touched. ``device`` is a Device, a device name, or the
    DeviceInfo of one already probed. Raises UnknownTarget for a name that is
    not a board of the catalog (a core is not: an estimate needs a board's
    clocks and memory), and EstimateError when neither is given or no Arm
    board is detected on the device.
    """
    if target is not None:
        from workbench.targets.target import Target, board

        return target if isinstance(target, Target) else board(target)
    if device is None:
        raise errors.EstimateError(
            "An estimate needs a target", where=WHERE,
            hint="Give a catalog board, target='raspberry-pi-5' (`--target raspberry-pi-5`), "
            "or a device whose board is detected, device='pi5' (`--device pi5`)")
    from workbench.jobs.measure import detect_target

    detection = detect_target(device)
    if detection.target is None:
        raise errors.EstimateError(
            f"No Arm target was detected on {_device_name(device)}: {detection.summary()}",
            where=WHERE, hint="Give a catalog board with target= (`--target`); with "
            "calibrate=True (`--calibrate`) the estimate still uses this device's measured "
            "ceilings")
    return detection.target


def estimate(model: Model | str | Path, *, target: Target | str | None = None,
             device: Device | str | None = None, calibrate: bool | Calibration = False,
             history: bool = False, threads: int | None = None, dtype: str = "fp32",
             cluster: str | int = "big") -> Profile:
    """A roofline estimate of ``model`` on the board :func:`estimate_target` picks.

    With ``calibrate``, ceilings measured on ``device`` (a tiny job per kernel
    class, see :func:`workbench.jobs.calibrate`; or a Calibration measured
    before) replace the datasheet's peaks, and the profile's ``target``
    section says so. A calibration whose runs disagree too much (a busy
    device) gives way to the device's last accepted one; with none kept it is
    used with a warning, and its spread widens the error bar. With ``history``, the
    rates ``device`` reached in its measured profiles cost the layers they
    cover (:func:`workbench.history.observations`), and the estimate says how
    many it used. ``cluster`` is read by
    :func:`~workbench.jobs.settings.parse_cluster`, so text such as ``"1"``
    works as the command line gives it. The profile is of kind ``estimate``.
    """
    for wanted, flag in ((calibrate is True, "calibrate=True measures"),
                         (history, "history=True reads the profiles of")):
        if wanted and device is None:
            raise errors.EstimateError(f"{flag} a device, and none was given", where=WHERE,
                                       hint="Name the device: device='pi5' (`--device pi5`)")
    chosen_cluster = parse_cluster(cluster)
    board = estimate_target(target, device)
    from workbench.jobs.build import as_model

    loaded = as_model(model)  # before calibrating: a model that does not load costs no jobs
    ceilings = None
    if calibrate is True and device is not None:
        ceilings = _trusted(_fresh_calibration(device))
    elif not isinstance(calibrate, bool):
        ceilings = _trusted(calibrate)
    observations, unused = None, None
    if history and device is not None:
        from workbench import history as store

        observations = store.observations(_device_name(device))
        unused = None if observations.profiles else _no_history(_device_name(device))
    made = board.estimate(loaded, threads=threads, dtype=dtype, cluster=chosen_cluster,
                          ceilings=ceilings, observations=observations)
    if unused:
        made.document.setdefault("warnings", []).insert(0, unused)
    return made


def _no_history(device: str) -> str:
    """Why an estimate asked to learn from ``device``'s history could not: the warning."""
    from workbench import history as store

    emulated = len(store.entries(device=device, kind="emulated", limit=1000))
    why = (f"its {emulated} emulated runs are not used: emulated timings are not the board's"
           if emulated else f"profile it first: workbench profile MODEL --device {device}")
    return (f"history: no measured profiles of {device} in the history ({why}); the "
            "estimate uses the datasheet's figures")


def _fresh_calibration(device: Device | str) -> Calibration:
    import warnings

    from workbench.jobs.measure import calibrate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a refusal is reported by _trusted, once
        return calibrate(device)


def _trusted(fresh: Calibration) -> Calibration:
    """``fresh`` when it is accepted, else the device's last accepted calibration, else
    ``fresh`` still: its wide spread widens the estimate's error bar, and a warning says why."""
    import warnings

    from workbench.jobs.measure import stored_calibration

    if fresh.accepted:
        return fresh
    kept = stored_calibration(fresh.device)
    if kept is None:
        warnings.warn(f"The calibration of {fresh.device} is not to be trusted "
                      f"({fresh.reason()}) and none of it is kept: the estimate uses it with "
                      "a wider error bar. Calibrate it again when it is quiet", stacklevel=3)
        return fresh
    warnings.warn(f"The calibration of {fresh.device} just now is not to be trusted "
                  f"({fresh.reason()}); the estimate uses the one kept from {kept.created}",
                  stacklevel=3)
    return kept
