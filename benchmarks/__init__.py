"""Benchmarks: stepwork against llama-index-workflows, measured in the same invocation."""
