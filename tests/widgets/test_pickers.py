"""Model, device and backend pickers alone: uploads, secrets, the kinds table, the options form."""

from __future__ import annotations

from pathlib import Path

import pytest

import workbench as wb
from workbench import errors
from workbench.devices import DeviceKind, LocalDevice, register_kind, unregister_kind
from workbench.widgets import BackendForm, DevicePicker, ModelPicker


def _send_upload(picker: ModelPicker, name: str, data: bytes) -> None:
    """What the browser's upload sends: the file in the widget's synced ``value``."""
    picker.upload.set_state({"value": [{
        "name": name, "type": "application/octet-stream", "size": len(data),
        "content": memoryview(data), "last_modified": 1_700_000_000_000}]})


def test_an_uploaded_model_is_loaded_by_name_and_the_upload_emptied(conv_model: Path) -> None:
    picker = ModelPicker()
    _send_upload(picker, "detector.onnx", conv_model.read_bytes())
    assert picker.model is not None and picker.model.name == "detector"
    assert picker.upload.value == ()
    assert "detector" in picker.summary.value and picker.errors.error is None


def test_an_upload_over_50_mib_is_refused_with_a_hint_to_give_a_path() -> None:
    picker = ModelPicker()
    _send_upload(picker, "huge.onnx", bytes(50 * 2**20 + 1))
    assert picker.model is None and picker.upload.value == ()
    assert isinstance(picker.errors.error, errors.UploadTooLarge)
    assert "give its path instead" in picker.errors.widget.value
    assert "where: upload &#x27;huge.onnx&#x27;" in picker.errors.widget.value


def test_a_zoo_model_shows_its_summary() -> None:
    picker = ModelPicker()
    picker.zoo.value = "zoo:mlp"
    assert picker.model is not None and picker.model.name == "mlp"
    assert "params" in picker.summary.value and "MACs" in picker.summary.value


def test_symbolic_dims_become_fields_that_fix_the_shapes() -> None:
    picker = ModelPicker("zoo:mlp-dynamic")
    fields = {field.description: field for field in picker.dims.children}
    assert list(fields) == ["batch"]
    fields["batch"].value = 4
    picker.fix_button.click()
    assert picker.model is not None and picker.model.symbolic_dims == []
    assert picker.model.inputs[0].shape[0] == 4


def test_a_missing_path_is_shown_with_what_where_and_hint(tmp_path: Path) -> None:
    picker = ModelPicker()
    picker.path.value = str(tmp_path / "absent.onnx")
    picker.load_button.click()
    assert isinstance(picker.errors.error, errors.ModelNotFound)
    assert "where: " + str(tmp_path / "absent.onnx") in picker.errors.widget.value


def test_a_failed_load_says_the_model_shown_is_still_the_one_loaded(tmp_path: Path) -> None:
    picker = ModelPicker("zoo:small-cnn")
    picker.path.value = str(tmp_path / "absent.onnx")
    picker.load_button.click()
    assert isinstance(picker.errors.error, errors.ModelNotFound)
    assert picker.model is not None and picker.model.name == "small-cnn"
    nodes = len(picker.model.nodes)
    assert f"small-cnn</b> ({nodes} nodes), still the one loaded: the load above failed" in (
        picker.summary.value)
    picker.path.value = ""
    picker.zoo.value = "zoo:small-cnn"  # a load that works takes the note away
    assert "still the one loaded" not in picker.summary.value


def test_model_names_are_shown_escaped(conv_model: Path) -> None:
    picker = ModelPicker()
    _send_upload(picker, "<img src=x onerror=alert(1)>.onnx",
                                   conv_model.read_bytes())
    assert picker.model is not None and picker.model.name == "<img src=x onerror=alert(1)>"
    assert "<img" not in picker.summary.value
    assert "&lt;img src=x onerror=alert(1)&gt;" in picker.summary.value


def test_a_typed_password_is_cleared_at_once_and_kept_in_memory_only() -> None:
    picker = DevicePicker()
    picker.password.value = "hunter2-secret"
    picker.passphrase.value = "key-secret"
    assert picker.password.value == "" and picker.passphrase.value == ""
    state = repr(picker.password.get_state()) + repr(picker.passphrase.get_state())
    assert "hunter2-secret" not in state and "key-secret" not in state
    assert "password held in memory" in picker.secret_state.value.replace("passphrase and ", "")
    picker.forget_secrets()
    assert picker.secret_state.value == ""


def test_the_device_list_comes_from_the_kinds_table() -> None:
    kind = DeviceKind("bench-farm", claims=lambda name: name.startswith("farm:"),
                      connect=lambda name, **_: LocalDevice(name),
                      known=lambda: [{"name": "farm:<b>rack-1</b>", "notes": "a farm board"}])
    register_kind(kind)
    try:
        picker = DevicePicker()
        values = [value for _label, value in picker.choice.options]
        assert values[0] == "local" and "farm:<b>rack-1</b>" in values
    finally:
        unregister_kind("bench-farm")


def test_probing_shows_arch_and_runtimes_of_the_device() -> None:
    picker = DevicePicker("local")
    picker.probe_button.click()
    assert picker.task is not None
    info = picker.task.result(120)
    assert picker.device is not None and picker.info is info
    assert f"<td style='text-align:left'>{info.arch}</td>" in picker.info_view.value
    assert "onnxruntime" in picker.info_view.value


def test_the_options_form_is_generated_from_the_backends_description() -> None:
    form = BackendForm("onnxruntime")
    described = {o["name"]: o for o in form.backend.describe()["options"]}
    assert set(form.fields) == set(described)
    assert type(form.fields["graph_optimization_level"]).__name__ == "Dropdown"
    assert type(form.fields["intra_op_threads"]).__name__ == "IntText"
    assert type(form.fields["allow_spinning"]).__name__ == "Checkbox"
    assert form.options() == {}
    form.fields["graph_optimization_level"].value = "basic"
    assert form.options() == {"graph_optimization_level": "basic"}


def test_a_value_below_the_minimum_is_explained_under_its_field() -> None:
    form = BackendForm("onnxruntime")
    form.fields["intra_op_threads"].value = -1
    assert "below the minimum 0" in form.messages["intra_op_threads"]
    assert "below the minimum 0" in form.notes["intra_op_threads"].value
    with pytest.raises(errors.InvalidOptionValue):
        form.options()
    form.fields["intra_op_threads"].value = 2
    assert form.messages == {} and form.options() == {"intra_op_threads": 2}


def test_providers_become_the_devices_choices_after_a_probe() -> None:
    form = BackendForm("onnxruntime")
    info = LocalDevice().probe()
    form.use_device(info)
    field = form.fields["providers"]
    assert type(field).__name__ == "SelectMultiple"
    assert list(field.options) == info.providers("onnxruntime")
    assert form.options() == {}


def test_a_probe_keeps_the_values_already_typed_into_the_form() -> None:
    form = BackendForm("onnxruntime")
    form.fields["intra_op_threads"].value = 3
    form.use_device(LocalDevice().probe())
    assert form.fields["intra_op_threads"].value == 3
    assert form.options() == {"intra_op_threads": 3}


def test_every_installed_backend_gets_a_form() -> None:
    form = BackendForm()
    for name in form.choice.options:
        form.choice.value = name
        assert form.errors.error is None, (name, form.errors.widget.value)
        assert set(form.fields) == {o["name"] for o in form.backend.describe()["options"]}


def test_a_device_name_is_shown_escaped_and_its_clusters_with_their_core_counts() -> None:
    from tests.widgets.conftest import HOSTILE_NAME

    kind = DeviceKind("hostile-farm", claims=lambda name: name.startswith("<img"),
                      connect=lambda name, **_: LocalDevice(name),
                      known=lambda: [{"name": HOSTILE_NAME, "notes": "a board"}])
    register_kind(kind)
    try:
        picker = DevicePicker(HOSTILE_NAME)
        picker.probe_button.click()
        assert picker.task is not None
        info = picker.task.result(120)
    finally:
        unregister_kind("hostile-farm")
    assert info.name == HOSTILE_NAME
    assert "<img" not in picker.info_view.value
    assert "&lt;img src=x onerror=alert(1)&gt;" in picker.info_view.value
    clusters = (info.cpu or {}).get("clusters") or []
    assert clusters and f"{len(clusters[0]['cores'])}× " in picker.info_view.value


def test_a_zoo_models_tflite_twin_can_be_picked() -> None:
    picker = ModelPicker()
    picker.zoo.value = "zoo:mlp.tflite"
    assert picker.errors.error is None, picker.errors.widget.value
    assert picker.model is not None and picker.model.format == "tflite"


def test_the_emulated_boards_are_listed_as_the_kinds_table_knows_them() -> None:
    from workbench.devices import known_devices

    picker = DevicePicker()
    values = [value for _label, value in picker.choice.options]
    assert values == [str(e["name"]) for e in known_devices(include_ssh_config=True)]
    emulated = [value for value in values if value.startswith("qemu:")]
    from workbench import emulator

    if not emulator.is_built():
        pytest.skip("no emulated board root here (WORKBENCH_EMULATOR_DIR): none to list")
    assert emulated, values
    assert all("times are not hardware times" in label
               for label, value in picker.choice.options if value in emulated)


def test_a_missing_model_points_to_the_zoo_list_beside_the_path_not_to_the_cli(
        tmp_path: Path) -> None:
    picker = ModelPicker()
    picker.path.value = str(tmp_path / "absent.onnx")
    picker.load_button.click()
    shown = picker.errors.error
    assert isinstance(shown, errors.ModelNotFound)
    assert "zoo list beside it" in picker.errors.widget.value
    assert "workbench zoo" not in picker.errors.widget.value
    assert shown.where == str(tmp_path / "absent.onnx")
    picker.path.value = "zoo:no-such-model"
    picker.load_button.click()
    assert isinstance(picker.errors.error, errors.UnknownZooModel)
    assert "Known models: mobilenetv2" in picker.errors.widget.value
    assert "workbench zoo" not in picker.errors.widget.value


def test_outside_the_picker_a_missing_model_keeps_the_cli_hint(tmp_path: Path) -> None:
    with pytest.raises(errors.ModelNotFound, match="`workbench zoo` lists them"):
        wb.load_model(tmp_path / "absent.onnx")


def test_refresh_and_probe_say_how_they_differ() -> None:
    picker = DevicePicker("local")
    assert "connects to none" in picker.refresh_button.tooltip
    assert "Connect to the chosen device" in picker.probe_button.tooltip
