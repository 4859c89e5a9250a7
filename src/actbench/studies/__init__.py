"""The studies: every module in this package that declares ``STUDY`` (an
``actbench.studies.unit.Study``: its parameters, jobs, result key, report, claims and
page). The CLI, the generated config and schema, the Snakemake rules, the report and
the ledger all iterate ``units()``; adding a study is one new module here plus its docs
page, nothing else (docs/custom-activation.md, "Add a study").
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

# Modules of this package that are plumbing, not studies (no STUDY); skipped without importing.
_HELPERS = {"unit", "generate", "parts", "plateau"}


@functools.lru_cache(maxsize=1)
def _discover() -> dict[str, str]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _HELPERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        study = getattr(module, "STUDY", None)
        if study is None:
            raise ImportError(f"{module.__name__} declares no STUDY; a module in actbench/studies/ is a study "
                              f"(or add it to the helpers list in {__name__})")
        if study.name != info.name:
            raise ValueError(f"{module.__name__} declares study {study.name!r}; name it after its module")
        found[info.name] = module.__name__
    return found


def study_names() -> list[str]:
    """Every study's name, alphabetical (the order of the config and the report)."""
    return list(_discover())


def module_name(name: str) -> str:
    return _discover()[name]


def get(name: str):
    """The declaration (``STUDY``) of one study (named ``get``, not ``unit``: the
    submodule ``actbench.studies.unit`` would shadow it)."""
    if name not in _discover():
        raise KeyError(f"unknown study {name!r}; studies: {', '.join(_discover())}")
    return importlib.import_module(_discover()[name]).STUDY


def units() -> dict:
    """Every study's declaration, by name (alphabetical: the order of config and report)."""
    return {name: get(name) for name in _discover()}
