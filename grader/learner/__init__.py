"""The learner's tools: check() in a notebook, hints, progress and watch."""
