"""`python -m actbench --help` and every subcommand's --help read as documentation: each
command's one-liner is a whole sentence and each command has a description of its own."""

import argparse
import re

import pytest

from actbench import gpu_check
from actbench.cli import build_parser, main, summary
from actbench.studies import study_names

# A capital letter first, a sentence's end last, one line.
SENTENCE = re.compile(r"[A-Z][^\n]*[^\s][.?]")


def subcommands() -> dict[str, tuple[str, argparse.ArgumentParser]]:
    """name -> (one-line help, its parser), as the top-level --help lists them."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    return {name: (helps.get(name), sub) for name, sub in action.choices.items()}


COMMANDS = subcommands()


def test_every_study_and_tool_is_a_subcommand():
    assert set(study_names()) | {"diagnose", "rerun-check", "report", "gpu-check", "hwid", "fingerprint"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_one_liner_is_a_sentence(name):
    help_text, _ = COMMANDS[name]
    assert help_text, f"{name} has no one-line help"
    assert SENTENCE.fullmatch(help_text), f"{name}: one-liner is not a whole sentence: {help_text!r}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_subcommand_has_a_description(name, capsys):
    help_text, parser = COMMANDS[name]
    assert parser.description and parser.description.strip(), f"{name} --help has no description"
    if name == "gpu-check":  # main() hands it to gpu_check's own parser
        assert summary(gpu_check.__doc__) == parser.description
        assert gpu_check.build_parser().description
        return
    with pytest.raises(SystemExit) as stop:
        main([name, "--help"])
    assert stop.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert " ".join(parser.description.split()[:8]) in shown, f"{name} --help does not show its description"


def test_study_help_is_the_declared_summary():
    """A study's one-liner is its declaration's summary (actbench.studies.unit), whole."""
    from actbench.studies import units

    for name, study in units().items():
        help_text, parser = COMMANDS[name]
        assert help_text == study.summary and "\n" not in help_text, name
        assert parser.description.startswith(study.summary), name


def test_summary_joins_the_first_paragraph():
    assert summary("Study `x`: one sentence\nover two lines.\n\nMore detail.") == "Study `x`: one sentence over two lines."
    assert summary(None) == ""
