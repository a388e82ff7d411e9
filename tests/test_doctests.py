"""The examples in fer_utils's docstrings run as written (the rendered API pages show them)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import fer_utils


def _source(name: str) -> str:
    return importlib.util.find_spec(name).loader.get_source(name)


def _runs_examples(source: str) -> bool:
    return any(">>> " in line and "+SKIP" not in line for line in source.splitlines())


#: the package's modules whose docstrings hold examples that run (not all marked +SKIP)
WITH_EXAMPLES = sorted(m.name for m in pkgutil.iter_modules(fer_utils.__path__, "fer_utils.")
                       if _runs_examples(_source(m.name)))


def test_the_package_has_docstring_examples():
    assert len(WITH_EXAMPLES) >= 6 and "fer_utils.recipe" in WITH_EXAMPLES


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
