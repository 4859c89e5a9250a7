"""A study as one unit: its parameters, jobs, result key, report and page, declared once.

Each study module defines ``STUDY = Study(...)``. Everything else is derived from it:

* the command line (``Study.add_arguments``): one flag per parameter, with its type,
  bounds and default, and the job flags (``--part``, ``--merge``, ``--threads``) of a
  split study;
* the pipeline configuration: ``workflow/config.yaml`` (defaults), ``config.quick.yaml``
  (the quick presets) and the schema fragment in ``workflow/schemas/config.schema.yaml``,
  all written by ``python -m actbench.studies.generate`` (a test checks that the
  committed files equal the generated ones);
* the Snakemake jobs (``workflow/rules/studies.smk``: four generic rules) from ``jobs``;
* the report's list of modules (``actbench.report.report_modules``) from ``report``.

A parameter's value in the config is the value of its command-line flag, so the
pipeline passes ``--name value`` for every parameter, and a by-hand run without flags
runs the pipeline's default setting.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable

_SAME = object()  # quick preset: same as the default


@dataclass(frozen=True)
class Param:
    """One parameter of a study: a config key and the command-line flag ``--key-with-dashes``.

    ``default`` is the pipeline's value (and the by-hand default); ``quick`` the quick
    preset's. A list default makes a list parameter (``nargs='+'``, or ``'*'`` when an
    empty list is allowed). ``seeds=True`` marks a replicate count: the config holds how
    many, the command line the seed numbers (``--seeds 0 1 2``). ``parse`` overrides the
    converter of one value (its error message is then the converter's own). A parameter
    with ``in_config=False`` is a command-line option only (a by-hand or device knob the
    pipeline never sets). ``schema_extra`` is merged into the generated JSON schema
    (e.g. ``{"items": {...}}`` for a list of mixed values).

    ``selects``: the parameter only chooses *which* rows a run computes (their values are
    in the study's key: activations, seeds, sizes), not what any one row holds, so runs
    that differ in it may add rows to one file (see ``Study.settings_hash``). Unset, a
    list or seeds parameter selects and any other does not; set it where that guess is
    wrong (a list of layer widths changes every row; a time budget only drops rows).
    """

    name: str
    default: Any
    help: str
    quick: Any = _SAME
    type: type | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    choices: tuple | None = None
    min_items: int | None = None
    max_items: int | None = None
    unique: bool = False
    nullable: bool = False
    seeds: bool = False
    in_config: bool = True
    parse: Callable[[str], Any] | None = None
    schema_extra: dict = field(default_factory=dict)
    selects: bool | None = None

    @property
    def chooses_rows(self) -> bool:
        return self.selects if self.selects is not None else (self.many or self.seeds)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def many(self) -> bool:
        return isinstance(self.default, list) and not self.seeds

    @property
    def quick_value(self) -> Any:
        return self.default if self.quick is _SAME else self.quick

    @property
    def item_type(self) -> type:
        if self.type is not None:
            return self.type
        sample = self.default[0] if self.many and self.default else self.default
        if self.seeds or sample is None:
            return int
        return type(sample) if not self.many or self.default else str

    # ── values ───────────────────────────────────────────────────────────────────
    def allowed(self) -> str:
        """What a value may be, in words (for error messages)."""
        t = self.item_type
        words = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(t, t.__name__)
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        bounds = [f"≥ {self.minimum:g}" if self.minimum is not None else "",
                  f"> {self.exclusive_minimum:g}" if self.exclusive_minimum is not None else "",
                  f"≤ {self.maximum:g}" if self.maximum is not None else "",
                  f"< {self.exclusive_maximum:g}" if self.exclusive_maximum is not None else ""]
        return " ".join([words, " and ".join(b for b in bounds if b)]).strip()

    def convert(self, text: str) -> Any:
        """argparse type of one value: convert and check the bounds, or say what is allowed."""
        if self.nullable and text.lower() in ("none", "null"):
            return None
        if self.parse is not None:  # the converter's own message; the bounds still hold
            value = self.parse(text)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not self.accepts(value):
                raise argparse.ArgumentTypeError(f"{value!r} is not allowed; expected {self.allowed()}")
            return value
        t = self.item_type
        try:
            if t is bool:
                if text.lower() not in ("true", "false"):
                    raise ValueError
                value = text.lower() == "true"
            else:
                value = t(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; expected {self.allowed()}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; expected a finite number")
        if not self.accepts(value):
            raise argparse.ArgumentTypeError(f"{value!r} is not allowed; expected {self.allowed()}")
        return value

    def accepts(self, value) -> bool:
        if self.choices and value not in self.choices:
            return False
        checks = [(self.minimum, lambda b: value >= b), (self.exclusive_minimum, lambda b: value > b),
                  (self.maximum, lambda b: value <= b), (self.exclusive_maximum, lambda b: value < b)]
        return all(bound is None or ok(bound) for bound, ok in checks)

    def cli_values(self, value) -> list[str]:
        """The command-line words for a config value (nothing for an empty list; null is the
        word ``none`` when the default is not null, nothing otherwise)."""
        if value is None:
            return [self.flag, "none"] if self.nullable and self.default is not None else []
        if self.seeds:
            return [self.flag] + [str(s) for s in range(int(value))]
        if isinstance(value, list):
            return [self.flag] + [str(v) for v in value] if value else []
        return [self.flag, str(value).lower() if isinstance(value, bool) else str(value)]

    # ── argparse and JSON schema ─────────────────────────────────────────────────
    def add_to(self, parser: argparse.ArgumentParser) -> None:
        kwargs: dict[str, Any] = {"type": self.convert, "help": self.help}
        if self.seeds:
            kwargs.update(nargs="+", default=list(range(self.default)),
                          help=f"{self.help} (seed numbers; default 0..{self.default - 1})")
            kwargs["type"] = Param("seed", 0, "", minimum=0).convert
        elif self.many:
            # argparse does not convert list defaults: do it, so a default arrives as a flag's value would
            default = [self.convert(str(v)) for v in self.default] if self.parse else list(self.default)
            kwargs.update(nargs="*" if self.min_items == 0 else "+", default=default, action=_counted(self))
        else:
            kwargs["default"] = self.default
        if not self.seeds:
            kwargs["help"] = f"{self.help} (default: {_show(self.default)})"
        parser.add_argument(self.flag, **kwargs)

    def schema(self) -> dict:
        if self.seeds:
            out = {"type": "integer", "minimum": max(1, int(self.minimum or 1))}
        else:
            out = _scalar_schema(self)
            if self.many:
                items = out
                out = {"type": "array", "items": items}
                out["minItems"] = 1 if self.min_items is None else self.min_items
                if self.max_items is not None:
                    out["maxItems"] = self.max_items
                if self.unique:
                    out["uniqueItems"] = True
        if self.nullable:
            out = {"oneOf": [out, {"type": "null"}]}
        out.update(self.schema_extra)
        out["description"] = self.help
        return out


def _counted(p: Param):
    """argparse action for a list parameter: refuses too few or too many values."""
    low, high = (1 if p.min_items is None else p.min_items), p.max_items

    class Counted(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            if len(values) < low or (high is not None and len(values) > high):
                want = f"exactly {low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
                parser.error(f"argument {p.flag}: {len(values)} values given; expected {want}")
            setattr(namespace, self.dest, values)

    return Counted


def _scalar_schema(p: Param) -> dict:
    t = p.item_type
    out: dict[str, Any] = {"type": {int: "integer", float: "number", str: "string", bool: "boolean"}[t]}
    for key, value in [("minimum", p.minimum), ("maximum", p.maximum),
                       ("exclusiveMinimum", p.exclusive_minimum), ("exclusiveMaximum", p.exclusive_maximum)]:
        if value is not None:
            out[key] = value
    if p.choices:
        out["enum"] = list(p.choices)
    return out


def _jsonable(value):
    """A parsed value as JSON would hold it (tuples as lists; numbers and strings as they are)."""
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _show(value) -> str:
    if isinstance(value, list):
        return " ".join(map(str, value)) if value else "none"
    return str(value)


@dataclass(frozen=True)
class Study:
    """A study's declaration: everything the CLI, the config, the workflow and the report need.

    ``jobs(cfg)`` lists the part-file stems of a split study (one Snakemake job each,
    merged into the study file); ``None`` means one job that writes the study file itself.
    ``timing(job)`` says which jobs need the machine alone (for a one-job study, the
    argument is the study's name). ``job_options(job, args)`` gives the parsed values that
    one job overrides (e.g. ``{"activations": ["relu"], "seeds": [0]}`` for job
    ``relu-s0``): the pipeline passes every parameter plus ``--part JOB``, and
    ``Study.for_job(args)`` narrows ``args`` to that job (the study's ``run`` calls it).
    ``report`` is the report module that renders the study (its ``build(results_dir,
    out_dir, book)``), or that function itself; ``claims`` are ledger entries in the
    format of ``actbench/claims.yaml`` (``study`` defaults to this one) added to that
    file's; ``page`` is the docs page (and anchor) that discusses the study.
    ``check(cfg)`` raises ``ValueError`` when the config section cannot run on this
    machine (e.g. a provider its device lacks); the dry run calls it after every value
    passed its converter, so the run stops before any job starts.
    """

    name: str
    summary: str
    key: list[str]
    params: tuple[Param, ...]
    run: Callable[[argparse.Namespace], Any]
    section: tuple[str, ...] = ()
    jobs: Callable[[dict], list[str]] | None = None
    timing: Callable[[str], bool] = lambda job: False
    job_options: Callable[[str, argparse.Namespace], dict] | None = None
    report: str | Callable | None = None
    claims: tuple[dict, ...] = ()
    page: str | None = None
    job_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    check: Callable[[dict], None] | None = None

    def __post_init__(self):
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"study {self.name}: a parameter is declared twice in {names}")

    @property
    def config_path(self) -> tuple[str, ...]:
        return self.section or (self.name,)

    @property
    def split(self) -> bool:
        return self.jobs is not None

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    @property
    def config_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.in_config)

    def for_job(self, args: argparse.Namespace) -> argparse.Namespace:
        """``args`` narrowed to the job named by ``--part`` (unchanged without one)."""
        if not getattr(args, "part", None) or self.job_options is None:
            return args
        return argparse.Namespace(**{**vars(args), **self.job_options(args.part, args)})

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.description = self.summary
        for p in self.params:
            p.add_to(parser)
        if self.job_arguments is not None:
            self.job_arguments(parser)

    def settings(self, args: argparse.Namespace) -> dict:
        """Every parameter's value in ``args``, by name, as JSON values: what the run's rows
        record of the settings that produced them (the results folder, ``--part`` and the
        thread count of a job are not parameters, so they are not in it)."""
        return {p.name: _jsonable(getattr(args, p.name)) for p in self.params}

    def settings_hash(self, settings: dict) -> str:
        """A short hash of the settings that change what a row holds (those that only
        choose rows left out): two runs may share a file by key only when it is equal."""
        kept = {p.name: settings[p.name] for p in self.params if not p.chooses_rows and p.name in settings}
        return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]

    def defaults(self, quick: bool = False) -> dict:
        return {p.name: (p.quick_value if quick else p.default) for p in self.config_params}

    def schema(self) -> dict:
        return {"type": "object", "additionalProperties": False, "description": self.summary,
                "required": [p.name for p in self.config_params],
                "properties": {p.name: p.schema() for p in self.config_params}}

    def cli_words(self, cfg: dict) -> list[str]:
        """Every parameter's flag and value(s) for a config section."""
        words: list[str] = []
        for p in self.config_params:
            words += p.cli_values(cfg[p.name])
        return words

    def flags(self, cfg: dict) -> str:
        return " ".join(shlex.quote(w) for w in self.cli_words(cfg))

    def job_names(self, cfg: dict) -> list[str]:
        return list(self.jobs(cfg)) if self.jobs else [self.name]
