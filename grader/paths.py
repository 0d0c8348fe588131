"""Where things are, named once: the package, the repository around it and its folders."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
"""The installed ``grader`` package (the manifest and the hidden suites live inside it)."""
REPO = PACKAGE.parent
"""The repository checkout the package sits in (an editable install, Colab's clone, CI)."""
MANIFEST = PACKAGE / "curriculum.toml"
SUITES = PACKAGE / "suites"
DATASETS = REPO / "datasets"
PYPROJECT = REPO / "pyproject.toml"
