"""Journal store tests: one conformance suite for every backend, plus backend specifics."""
