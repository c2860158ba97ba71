/**
 * The starter notebook the launcher card and the sidebar create: the
 * notebook UI (workbench.widgets.Workbench) with the device filled in, then
 * the same steps with the plain API: load a model, pick device, target and
 * backend, profile, compare with an estimate.
 */

function markdown(text: string) {
  return { cell_type: 'markdown', metadata: {}, source: text };
}

function code(text: string) {
  return { cell_type: 'code', metadata: {}, source: text, outputs: [], execution_count: null };
}

/** The notebook JSON (nbformat 4) with `device` filled in as a Python string literal. */
export function starterNotebook(device: string) {
  // JSON string syntax is valid Python string syntax for any name
  const name = JSON.stringify(device);
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: { name: 'python' }
    },
    cells: [
      markdown(
        '# Edge Workbench\n\n' +
          'Load a model, pick a target, a backend and a device, and profile it layer by layer. ' +
          'The tabs below do it with forms; the cells after them do the same in code.'
      ),
      code('import workbench as wb\nfrom workbench.widgets import Workbench'),
      code(`ui = Workbench(model="zoo:small-cnn", device=${name}, backend="onnxruntime", runs=20)\nui`),
      markdown('Press **Run** above, or run from code as the button does; the profile shows below.'),
      code('ui.run()\nui.wait()'),
      markdown('## The same with the plain API'),
      code('model = wb.load_model("zoo:small-cnn")  # or a path to an .onnx / .tflite file\nmodel'),
      code(`device = wb.connect(${name})\ninfo = device.probe()\ninfo`),
      code(
        '# the target the device was detected as; an estimate needs no hardware\n' +
          'target = wb.targets.get("raspberry-pi-5")\nestimate = target.estimate(model)\nestimate'
      ),
      code(
        'profile = wb.profile(model, device=device, backend="onnxruntime", ' +
          'options={"intra_op_threads": 1}, runs=20)\nprofile'
      ),
      code('wb.compare([profile, estimate])')
    ]
  };
}
