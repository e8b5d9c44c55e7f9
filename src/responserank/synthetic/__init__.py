"""Synthetic experiments: simulated choices and response times, the batched learners and the runner CLI."""
