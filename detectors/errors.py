"""Exceptions of the detectors package.

::

    DetectorError
    └── RuleConfigError       a rule or tier YAML cannot be used; the message names the key
"""

from __future__ import annotations


class DetectorError(Exception):
    """Root of the detectors package's exceptions."""


class RuleConfigError(DetectorError):
    """A configuration file for rules, tiers or weights is invalid."""
