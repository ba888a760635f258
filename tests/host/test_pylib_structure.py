"""The shape docs/architecture.md promises, read from the source (CPython's
ast; nothing runs): modules of the frozen `xen` package import downwards
only, the modules that serve a dom0 keep no state of their own (one Dom0
holds it), and no C or Python file grows past 900 lines."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYLIB = ROOT / "pylib"
# Modules whose state lives in the Dom0 (xen.dom0), never at module level.
STATELESS = ["xen.domain.lifecycle", "xen.console", "xen.xenstore", "xen.domain.builder",
             "xen.domain.entries", "xen.xl"]
MUTATORS = {"append", "pop", "update", "clear", "remove", "insert", "extend", "setdefault", "add",
            "discard", "popitem"}
MAX_LINES = 900


def modules():
    out = {}
    for f in sorted((PYLIB / "xen").rglob("*.py")):
        rel = f.relative_to(PYLIB).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


def imports(name, path):
    """Modules of the package `name` imports, with whether the import is at
    module level. `from xen import x` names submodule xen.x where one exists."""
    mods = modules()
    tree = ast.parse(path.read_text())
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    top = set(id(n) for n in tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(pkg.split(".")[:len(pkg.split(".")) - node.level + 1] + ([base] if base else []))
            targets = []
            for a in node.names:
                sub = base + "." + a.name
                targets.append(sub if sub in mods else base)
        else:
            continue
        for t in targets:
            if t in mods or t == "xen":
                found.append((t, id(node) in top))
    return found


def test_no_import_cycle():
    """Module-level and function-level imports both count, except that any
    module may reach the package root `xen` (get_dom0(), the facade)."""
    mods = modules()
    graph = {m: set() for m in mods}
    for m, f in mods.items():
        for t, _ in imports(m, f):
            if t != "xen" and t != m and not m.startswith(t + "."):
                graph[m].add(t)
    # Tarjan-free: a DFS that reports the first cycle it meets
    state = {}

    def visit(m, stack):
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t] if t in stack else [m, t]
            if state.get(t) is None:
                c = visit(t, stack + [t])
                if c:
                    return c
        state[m] = 2
        return None

    for m in sorted(graph):
        if state.get(m) is None:
            cycle = visit(m, [m])
            assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_root_package_is_imported_lazily():
    """xen/__init__ imports no submodule at module level: a board's heap
    stays free until one is used, and a submodule may import the root (the
    facade: get_dom0()) without forming a cycle."""
    for t, top in imports("xen", modules()["xen"]):
        assert not top, "xen/__init__.py imports %s at module level" % t


@pytest.mark.parametrize("name", STATELESS)
def test_no_module_level_mutable_state(name):
    """No `global` rebinding and no module-level name mutated in place."""
    f = modules()[name]
    tree = ast.parse(f.read_text())
    names = set()
    for n in tree.body:
        if isinstance(n, (ast.Assign, ast.AnnAssign)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                if isinstance(t, ast.Name):
                    names.add(t.id)
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            bad.append("global %s (line %d)" % (", ".join(node.names), node.lineno))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in names:
                    bad.append("%s[...] changed (line %d)" % (t.value.id, node.lineno))
                if isinstance(node, ast.AugAssign) and isinstance(t, ast.Name) and t.id in names:
                    bad.append("%s changed (line %d)" % (t.id, node.lineno))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in names \
                and node.func.attr in MUTATORS:
            bad.append("%s.%s() (line %d)" % (node.func.value.id, node.func.attr, node.lineno))
    assert not bad, "%s keeps state at module level: %s" % (name, "; ".join(bad))


def test_no_file_over_900_lines():
    big = []
    for f in sorted(list((ROOT / "pylib").rglob("*.py")) + list((ROOT / "modxen").rglob("*.[ch]"))):
        n = len(f.read_text(errors="replace").splitlines())
        if n > MAX_LINES:
            big.append("%s (%d)" % (f.relative_to(ROOT), n))
    assert not big, "files over %d lines: %s" % (MAX_LINES, ", ".join(big))
