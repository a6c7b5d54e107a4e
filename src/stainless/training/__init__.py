"""Training: Lightning modules, the training loop and the model folder."""
