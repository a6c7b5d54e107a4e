"""Experiments over many trainings: resumable sweeps (task × K × init × seed × variant), their
summaries and plots."""
