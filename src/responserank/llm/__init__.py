"""LLM reward models on MultiPref: data pipeline, presets, trainer."""
