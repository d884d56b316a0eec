"""The ``>>>`` examples in the source packages run, and pass.

Every module of the packages below is imported and its examples run with
:func:`doctest.testmod`. Importing must start nothing: ``streams.app`` only defines
``build_app`` (the Faust app is built on demand), and a module that did start something on
import would show here as a hanging or failing test.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

PACKAGES = ("detectors", "schemas", "config", "sinks", "streams", "bench")


def modules() -> list[str]:
    names = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        names.append(package)
        names += [m.name for m in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")]
    return sorted(n for n in names if not n.endswith("__main__"))


def with_examples(name: str) -> bool:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return any(test.examples for test in finder.find(module))


EXAMPLES = [name for name in modules() if with_examples(name)]


def test_the_examples_were_found() -> None:
    # Guards the collection itself: these modules are known to carry examples.
    assert {"detectors.univariate.streaming", "detectors.peer_divergence", "bench.nab_scoring"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_pass(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
