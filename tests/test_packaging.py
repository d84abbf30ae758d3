"""pyproject.toml in the form setuptools wants, so `pip install -e .` prints no deprecation banner."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_license_is_an_spdx_string_built_by_a_setuptools_that_reads_it():
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # A TOML table ({text = …}) and "License ::" classifiers both make setuptools >= 77 print a banner.
    assert doc["project"]["license"] == "Apache-2.0"
    assert not [c for c in doc["project"].get("classifiers", []) if c.startswith("License ::")]
    (setuptools,) = [r for r in doc["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools)
    assert minimum and int(minimum.group(1)) >= 77, setuptools  # SPDX strings are read from 77 on
