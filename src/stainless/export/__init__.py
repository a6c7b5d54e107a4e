"""Trained models as graphs that run without stainless's training stack: ONNX (onnxruntime,
Fiji/deepImageJ, QuPath) and ``torch.export`` programs (``stainless export``)."""
