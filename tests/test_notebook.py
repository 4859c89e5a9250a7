"""actbench.notebook: executing the experiments notebook for the site."""

import nbformat

from actbench.notebook import main as notebook_main, wrap_maths


def test_failing_notebook_fails_and_writes_nothing(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('broken cell')")],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    source, out = tmp_path / "bad.ipynb", tmp_path / "out" / "bad.ipynb"
    nbformat.write(nb, source)
    (tmp_path / "results").mkdir()
    code = notebook_main(["--notebook", str(source), "--results", str(tmp_path / "results"), "--out", str(out)])
    assert code == 1 and not out.exists()


def test_notebook_maths_is_wrapped_for_the_site_mathjax():
    text = "With $n$ seeds `$HOME` costs \\$5:\n\n$$\\bar x \\pm t$$\n"
    out = wrap_maths(text)
    assert '<span class="arithmatex">$n$</span>' in out
    assert '<div class="arithmatex">$$\\bar x \\pm t$$</div>' in out
    assert "`$HOME`" in out and "\\$5" in out


def test_missing_studies_are_skipped_with_a_note(tmp_path):
    """Against a results folder with no studies at all, every figure cell says so and
    the notebook still completes (a partial pipeline still renders)."""
    (tmp_path / "results" / "some-machine").mkdir(parents=True)
    out = tmp_path / "executed.ipynb"
    assert notebook_main(["--results", str(tmp_path / "results"), "--out", str(out)]) == 0
    nb = nbformat.read(out, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    for study in ("shapes", "exp1_mnist", "gradient_flow", "dead_units", "kernels"):
        assert f"No results for the {study!r} study yet" in text


def test_a_corrupt_results_file_is_named_in_one_line_and_nothing_is_written(tmp_path, capsys):
    machine = tmp_path / "results" / "some-machine"
    machine.mkdir(parents=True)
    (machine / "shapes.parquet").write_bytes(b"not a parquet file")
    out = tmp_path / "executed.ipynb"
    assert notebook_main(["--results", str(tmp_path / "results"), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"actbench.notebook: error: {machine / 'shapes.parquet'} is not a readable parquet file (")
    assert err.endswith("; delete it and rerun the study that writes it (`make` reruns every study whose file "
                        "is missing)\n")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
