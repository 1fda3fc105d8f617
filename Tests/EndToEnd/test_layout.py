"""The module picture stays true: scripts/check-layout passes on the tree, and catches each kind
of drift when it is introduced on purpose."""
import importlib.machinery
import importlib.util
import subprocess

from conftest import ROOT


def load_script(name: str):
    """A checker script of scripts/ (no .py suffix) as a module, for its pure `check`."""
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(ROOT / "scripts" / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_tree_agrees_with_package_swift():
    result = subprocess.run([str(ROOT / "scripts" / "check-layout")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_kind_of_drift_is_caught():
    checker = load_script("check-layout")
    targets = {
        "Low": {"type": "regular", "dependencies": [], "path": None},
        "High": {"type": "regular", "dependencies": ["Low"], "path": None},
    }
    imports = {"Low": set(), "High": {"Low", "Foundation"}}
    doc = "## Modules\n\n| module | purpose | depends on |\n| --- | --- | --- |\n| `Low` | x | — |\n| `High` | y | `Low` |\n"
    assert checker.check(targets, imports, doc) == []

    undeclared = checker.check(targets, {"Low": {"High"}, "High": {"Low"}}, doc)
    assert undeclared == ["Low imports High, which Package.swift does not declare as its dependency"]

    unused = checker.check(targets, {"Low": set(), "High": set()}, doc)
    assert unused == ["High declares a dependency on Low but never imports it"]

    glibc = checker.check(targets, {"Low": {"Glibc"}, "High": {"Low"}}, doc)
    assert glibc == ["Low imports Glibc: only Platform may"]

    spi = checker.check(targets, {"Low": set(), "High": {"Low", "spi:Simulation"}}, doc)
    assert spi == ["High imports the @_spi(Simulation) interface: only Simulation, strongroom-sim may"]

    stale = checker.check(targets, imports, doc.replace("| `High` | y | `Low` |\n", "| `High` | y | — |\n| `Gone` | z | — |\n"))
    assert stale == ["docs/ARCHITECTURE.md's module table names Gone, which Package.swift does not have",
                     "docs/ARCHITECTURE.md says High depends on []; Package.swift says ['Low']"]

    missing_row = checker.check(targets, imports, doc.replace("| `Low` | x | — |\n", ""))
    assert missing_row == ["docs/ARCHITECTURE.md's module table has no row for Low"]


def test_the_code_follows_the_written_conventions():
    result = subprocess.run([str(ROOT / "scripts" / "check-conventions")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_convention_is_checked():
    checker = load_script("check-conventions")
    good = "import Testing\n\nstruct A {}\n"
    assert checker.check({"Sources/Node/A.swift": good}) == []
    assert checker.check({"Sources/Node/A.swift": "struct A {}"}) == ["Sources/Node/A.swift:1: no newline at the end of the file"]
    assert checker.check({"Sources/Node/A.swift": "\tlet x = 1\n"}) == ["Sources/Node/A.swift:1: a tab"]
    assert checker.check({"Sources/Node/A.swift": "let x = 1 \n"}) == ["Sources/Node/A.swift:1: trailing white space"]
    assert checker.check({"Sources/JSON/A.swift": "import Foundation\n"}) == ["Sources/JSON/A.swift:1: the pure module JSON imports Foundation"]
    assert checker.check({"Sources/Policy/A.swift": "func f() { print(1) }\n"}) == ["Sources/Policy/A.swift:1: the pure module Policy prints"]
    assert checker.check({"Sources/Node/A.swift": "final class A: @unchecked Sendable {}\n"}) == [
        "Sources/Node/A.swift:1: @unchecked Sendable without a '// Safety:' comment saying why it holds"]
    assert checker.check({"Sources/Node/A.swift": "// Safety: one thread only.\nfinal class A: @unchecked Sendable {}\n"}) == []
    assert checker.check({"Sources/Node/A.swift": "// TODO: later\n"}) == ["Sources/Node/A.swift:1: TODO left in the code; file an issue instead"]
    assert checker.check({"Sources/Node/A.swift": "\n" * 801}) == ["Sources/Node/A.swift:1: 801 lines; split it (at most 800)"]
