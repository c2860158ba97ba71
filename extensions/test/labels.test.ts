import { describe, expect, it } from 'vitest';

import { distinctLabels } from '../src/labels';

describe("a comparison's column names", () => {
  it('keep only the setting that tells two runs apart', () => {
    expect(
      distinctLabels([
        'mobilenetv2 on local (onnxruntime, intra_op_threads=1)',
        'mobilenetv2 on local (onnxruntime, intra_op_threads=2)'
      ])
    ).toEqual(['intra_op_threads=1', 'intra_op_threads=2']);
  });

  it('keep the device when the devices differ', () => {
    expect(
      distinctLabels(['small-cnn on local (onnxruntime)', 'small-cnn on raspberry-pi-5 [estimate fp32, 4 threads]'])
    ).toEqual(['local (onnxruntime)', 'raspberry-pi-5 [estimate fp32, 4 threads]']);
  });

  it('keep whole labels that share nothing, and words that share a first letter', () => {
    expect(distinctLabels(['tinycnn on pi5 (onnxruntime)', 'an estimate'])).toEqual([
      'tinycnn on pi5 (onnxruntime)',
      'an estimate'
    ]);
    expect(distinctLabels(['pi4 run', 'pi5 run'])).toEqual(['pi4', 'pi5']);
  });

  it('keep a label whole when nothing would be left of it', () => {
    expect(distinctLabels(['same', 'same'])).toEqual(['same', 'same']);
    expect(distinctLabels(['only one'])).toEqual(['only one']);
  });

  it('keep the whole labels when the short ones would come out alike', () => {
    expect(distinctLabels(['resnet (int8)', 'resnet, (int8)'])).toEqual(['resnet (int8)', 'resnet, (int8)']);
    expect(distinctLabels(['on (ort)', '(ort)', '(ort) (ort)'])).toEqual(['on (ort)', '(ort)', '(ort) (ort)']);
  });
});
