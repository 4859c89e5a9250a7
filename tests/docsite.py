"""Build the documentation site once per test session, the way CI does, without touching
the working tree: report and notebook from the committed results/ into a temporary
copy of docs/, then `mkdocs build --strict`. Shared by test_docs.py and test_browser.py."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "results"  # the committed results, as CI uses them


@dataclass
class BuiltSite:
    docs: Path        # the temporary docs/ the site was built from
    generated: Path   # its generated/ folder (report + executed notebook)
    site: Path        # the built HTML
    log: str          # mkdocs output

    def numbers(self) -> dict:
        return json.loads((self.generated / "numbers.json").read_text())["numbers"]

    def claims(self) -> dict:
        return json.loads((self.generated / "claims.json").read_text())

    def rendered_numbers(self) -> list[dict]:
        """Every num()/raw() call the build rendered: {"macro", "key", "page"}."""
        return json.loads((self.docs.parent / "rendered-numbers.json").read_text())

    def page(self, src_uri: str) -> str:
        """Built HTML of a docs page given its source path ("ledger.md", "index.md")."""
        stem = src_uri.rsplit(".", 1)[0]
        html = self.site / ("index.html" if stem == "index" else f"{stem}/index.html")
        return html.read_text()


def _start(cmd: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _finish(proc: subprocess.Popen, what: str) -> str:
    try:
        output, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        raise AssertionError(f"{what} timed out:\n{output[-4000:]}") from None
    if proc.returncode != 0:
        raise AssertionError(f"{what} failed ({proc.returncode}):\n{output[-8000:]}")
    return output


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    return _finish(_start(cmd, cwd), what)


MACROS_LOGGER = '''"""Test harness: docs/macros.py (renamed macros_project.py) plus a log of rendered numbers."""
import importlib.util
import json
from pathlib import Path

_spec = importlib.util.spec_from_file_location("macros_project", Path(__file__).with_name("macros_project.py"))
_project = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_project)
RENDERED = []


def define_env(env):
    _project.define_env(env)
    for name in ("num", "raw"):
        def logged(key, _macro=env.macros[name], _name=name):
            RENDERED.append({"macro": _name, "key": key, "page": env.page.file.src_uri})
            return _macro(key)
        env.macros[name] = logged


# Pass through the project's other hooks, if it has any.
for _hook in ("on_pre_page_macros", "on_post_page_macros"):
    if hasattr(_project, _hook):
        globals()[_hook] = getattr(_project, _hook)


def on_post_build(env):
    if hasattr(_project, "on_post_build"):
        _project.on_post_build(env)
    Path(__file__).parents[1].joinpath("rendered-numbers.json").write_text(json.dumps(RENDERED))
'''


@functools.cache
def _build_once() -> BuiltSite | AssertionError:
    try:
        return _build()
    except AssertionError as exc:  # remembered, so a broken build fails every test fast
        return exc


def build_site() -> BuiltSite:
    result = _build_once()
    if isinstance(result, AssertionError):
        raise result
    return result


def _build() -> BuiltSite:
    work = Path(tempfile.mkdtemp(prefix="actbench-docs-"))
    atexit.register(shutil.rmtree, work, True)
    docs = work / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("generated"))
    shutil.copy(ROOT / "mkdocs.yml", work / "mkdocs.yml")
    # The project's macros, wrapped to log each number a page renders (keys are often
    # computed in templates, so reading the sources cannot find them all).
    (docs / "macros.py").rename(docs / "macros_project.py")
    (docs / "macros.py").write_text(MACROS_LOGGER)
    generated = docs / "generated"
    # Report and notebook both only read results/: run them side by side. The notebook
    # lands beside the folder and moves in afterwards: the report swaps `generated` whole.
    executed = work / "experiments.ipynb"
    notebook = _start([sys.executable, "-m", "actbench.notebook", "--results", str(RESULTS),
                       "--out", str(executed)], ROOT)
    try:
        _run([sys.executable, "-m", "actbench", "report", "--results", str(RESULTS), "--out", str(generated)],
             ROOT, "actbench report")
    finally:
        _finish(notebook, "notebook execution")
    executed.rename(generated / "experiments.ipynb")
    # Never -q/-v with --strict: those make warnings pass (PITFALLS).
    log = _run([str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(work / "site")], work, "mkdocs build --strict")
    return BuiltSite(docs=docs, generated=generated, site=work / "site", log=log)


def decision_tree() -> dict:
    return json.loads((ROOT / "docs/assets/data/decision-tree.json").read_text())


def matching_rules(chosen: dict[str, list[str]]) -> list[str]:
    """The decision-tree page's rule semantics, in Python (the browser test checks that
    the page's JavaScript agrees): a rule matches when, for every question it lists,
    one of its values was chosen."""
    return [rule["id"] for rule in decision_tree()["rules"]
            if all(any(v in chosen.get(q, []) for v in values) for q, values in rule["when"].items())]
