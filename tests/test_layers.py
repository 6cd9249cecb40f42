"""The layers (docs/ARCHITECTURE.md "Layers"): every import of ours goes down a floor or stays in its
package, no package's modules import each other in a cycle, and every import inside a function says
why (a ``# lazy:`` comment: start-up cost, or configuration that must come first).

The imports are read with ``ast`` (module level and inside functions), nothing is imported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Each top-level package and its floor; a package imports only packages on lower floors.
FLOORS = {
    "base": 0,          # errors, settings, process state, code version: imports nothing of ours
    "schema": 1,        # the dictionary and what derives from it; canonical units
    "centres": 2,       # read + harmonise (stages 1-2), profiles, pseudonyms
    "validators": 2,    # the rules, the decision, the report renderers (stages 3-4)
    "analytics": 2,     # statistics, pure
    "warehouse": 3,     # the DuckLake: connections, migrations, loader, queries
    "synth": 3,         # the synthetic cohort, rendered through the centre profiles
    "ingestion": 4,     # the one ingestion path: discovery, the per-file pipeline, the writer, reports
    "publication": 4,   # the paper's analyses over the warehouse, versioned outputs
    "flows": 5,         # Prefect flows: wiring only
    "tdm": 6,           # the apps: the CLI, the web app, the demo, the Prefect server
    "benchmarks": 7,    # measures everything; nothing imports it
}
LAZY = "# lazy:"


@dataclass(frozen=True)
class Import:
    source: str          # importing module, dotted
    target: str          # imported module (or package), dotted
    path: Path
    line: int
    in_function: bool
    marked: bool         # a `# lazy:` comment on the statement or above its block of imports


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _marked(lines: list[str], node: ast.stmt, import_lines: set[int]) -> bool:
    if any(LAZY in lines[i - 1] for i in range(node.lineno, node.end_lineno + 1)):
        return True
    first = node.lineno
    while True:                               # the block of imports (blank lines between) it belongs to
        above = first - 1
        while above >= 1 and not lines[above - 1].strip():
            above -= 1
        if above not in import_lines:
            break
        first = above
    above = first - 1
    while above >= 1 and lines[above - 1].strip().startswith("#"):
        if LAZY in lines[above - 1]:
            return True
        above -= 1
    return False


def imports_of(root: Path, path: Path, modules: set[str]) -> list[Import]:
    """Every import in ``path`` of one of our packages, resolved to the module it names (``from P
    import m`` names ``P.m`` when that is a module, else ``P``), and every other import inside a
    function (target: the library it names)."""
    source = module_name(root, path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text, filename=str(path))
    in_function: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function |= {id(n) for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))}
    nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    import_lines = {i for n in nodes for i in range(n.lineno, n.end_lineno + 1)}
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for t in dict.fromkeys(targets):
            if t.split(".")[0] in FLOORS or id(node) in in_function:
                out.append(Import(source, t, path, node.lineno, id(node) in in_function,
                                  _marked(lines, node, import_lines)))
    return out


def scan(root: Path) -> tuple[list[Import], set[str]]:
    files = [p for top in FLOORS if (root / top).is_dir() for p in sorted((root / top).rglob("*.py"))]
    modules = {module_name(root, p) for p in files}
    return [i for p in files for i in imports_of(root, p, modules)], modules


def upward(imports: list[Import]) -> list[str]:
    """Imports of a package on the same or a higher floor (``file:line``, what, the floors)."""
    bad = []
    for i in imports:
        if i.target.split(".")[0] not in FLOORS:
            continue
        a, b = i.source.split(".")[0], i.target.split(".")[0]
        if a != b and FLOORS[b] >= FLOORS[a]:
            bad.append(f"{i.path.relative_to(ROOT) if i.path.is_relative_to(ROOT) else i.path}:{i.line}: "
                       f"{i.source} imports {i.target} ({a} is floor {FLOORS[a]}, {b} floor {FLOORS[b]})")
    return bad


def cycles(imports: list[Import], modules: set[str]) -> list[str]:
    """Module cycles through module-level imports.  An import inside a function runs after both
    modules are loaded, so it takes no part in import order; it must say why it waits (``unmarked``),
    and "to dodge a cycle" is not a reason the layers accept."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    where: dict[tuple[str, str], Import] = {}
    for i in imports:
        if i.target in graph and i.target != i.source and not i.in_function:
            graph[i.source].add(i.target)
            where.setdefault((i.source, i.target), i)
    # a package's __init__ importing its own submodules, which import names from the package's
    # __init__, is how a package face works, not a cycle of layers
    def face(a: str, b: str) -> bool:
        return a.startswith(b + ".") or b.startswith(a + ".")
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def strongconnect(v: str) -> None:          # Tarjan, iterative enough for our depth
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in sorted(graph[v]):
            if face(v, w):
                continue
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    out = []
    for comp in found:
        edges = [where[(a, b)] for a in sorted(comp) for b in sorted(graph[a]) if b in comp and not face(a, b)]
        out.append("cycle " + " <-> ".join(sorted(comp)) + ": "
                   + "; ".join(f"{e.path.name}:{e.line} {e.source} -> {e.target}" for e in edges))
    return out


def unmarked(imports: list[Import]) -> list[str]:
    return [f"{i.path.relative_to(ROOT) if i.path.is_relative_to(ROOT) else i.path}:{i.line}: "
            f"{i.source} imports {i.target} inside a function without a '{LAZY} <why>' comment "
            "(hoist it to the top, or say why it must wait)"
            for i in imports if i.in_function and not i.marked]


@pytest.fixture(scope="module")
def ours():
    return scan(ROOT)


def test_every_package_has_a_floor_and_every_floor_package_exists():
    tops = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"tests"}
    assert tops == set(FLOORS), "a top-level package without a floor (or a floor without its package)"


def test_no_import_goes_up_a_floor(ours):
    imports, _ = ours
    assert len([i for i in imports if i.target.split(".")[0] in FLOORS]) > 300   # the scan saw the code
    assert upward(imports) == []


def test_no_cycle_between_modules(ours):
    imports, modules = ours
    assert cycles(imports, modules) == []


def test_every_import_inside_a_function_says_why(ours):
    imports, _ = ours
    assert unmarked(imports) == []


def test_no_flow_module_is_named_like_a_package():
    """Prefect loads a deployment's entrypoint (``flows/ingest.py:ingest_flow``) with ``flows/`` first
    on sys.path, so a module ``flows/<package>.py`` would shadow that package in every worker."""
    assert not {p.stem for p in (ROOT / "flows").glob("*.py")} & set(FLOORS)


# --- the test of the test: a small tree with each fault injected -----------------------------------

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_checks_find_an_injected_upward_import_a_cycle_and_an_unmarked_lazy_import(tmp_path):
    root = _tree(tmp_path, {
        "base/__init__.py": "",
        "base/errors.py": "import os\n\n\ndef f():\n    from ingestion import commit\n",   # up, unmarked
        "schema/__init__.py": "",
        "schema/a.py": "from schema import b\n",
        "schema/b.py": "import schema.a\n",                                            # a <-> b
        "ingestion/__init__.py": "from ingestion.writer import commit\n",             # a package face
        "ingestion/writer.py": "from base.errors import f\nfrom ingestion import files\n",
        "ingestion/files.py": "def g():\n    # lazy: start-up\n    import centres.raw\n    import centres.cells\n",
        "centres/__init__.py": "", "centres/raw.py": "", "centres/cells.py": "",
        "centres/readers.py": "def h():\n    import zipfile\n",                        # unmarked library
    })
    imports, modules = scan(root)
    up = upward(imports)
    assert len(up) == 1 and up[0].endswith("base/errors.py:5: base.errors imports ingestion (base is floor 0, "
                                           "ingestion floor 4)")
    found = cycles(imports, modules)
    assert len(found) == 1 and found[0].startswith("cycle schema.a <-> schema.b: a.py:1 schema.a -> schema.b")
    lazy = unmarked(imports)
    assert len(lazy) == 2 and "base/errors.py:5:" in lazy[0]       # the marked block in files.py passes
    assert "centres/readers.py:2: centres.readers imports zipfile" in lazy[1]


def test_a_marker_covers_only_its_own_block(tmp_path):
    root = _tree(tmp_path, {
        "base/__init__.py": "", "schema/__init__.py": "", "schema/x.py": "",
        "centres/__init__.py": "",
        "centres/m.py": ("def g():\n    # lazy: start-up\n    import schema.x\n    y = 1\n"
                         "    import schema\n    from schema import x  # lazy: start-up\n"),
    })
    imports, _ = scan(root)
    assert [line.split(":")[1] for line in unmarked(imports)] == ["5"]
