"""The module picture stays true: scripts/check-layout passes on the tree, and catches each kind
of drift when it is introduced on purpose."""
import importlib.machinery
import importlib.util
import subprocess

from conftest import ROOT


def load_checker():
    loader = importlib.machinery.SourceFileLoader("check_layout", str(ROOT / "scripts" / "check-layout"))
    spec = importlib.util.spec_from_loader("check_layout", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_tree_agrees_with_package_swift():
    result = subprocess.run([str(ROOT / "scripts" / "check-layout")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_kind_of_drift_is_caught():
    checker = load_checker()
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
    assert glibc == ["Low imports Glibc: only Platform, TLS may"]

    stale = checker.check(targets, imports, doc.replace("| `High` | y | `Low` |\n", "| `High` | y | — |\n| `Gone` | z | — |\n"))
    assert stale == ["docs/ARCHITECTURE.md's module table names Gone, which Package.swift does not have",
                     "docs/ARCHITECTURE.md says High depends on []; Package.swift says ['Low']"]

    missing_row = checker.check(targets, imports, doc.replace("| `Low` | x | — |\n", ""))
    assert missing_row == ["docs/ARCHITECTURE.md's module table has no row for Low"]
