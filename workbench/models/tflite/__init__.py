"""TFLite models: a flatbuffer reader and writer, analysis, and the zoo's TFLite twins.

    from workbench.models import load_model
    m = load_model("model.tflite")           # or its bytes; LiteRT is not needed
    t = load_model("zoo:mobilenetv2.tflite") # the twin of a zoo model

Nothing here imports LiteRT; ``twin`` imports onnx and numpy on first use.
"""
