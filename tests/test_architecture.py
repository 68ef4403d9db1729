"""The package's layout holds: planning never reaches TensorFlow, and no two modules
import each other (read from the source, nothing imported)."""

import ast
import pathlib

import pytest

ART = pathlib.Path(__file__).resolve().parent.parent / "art"


def module_name(path):
    parts = path.relative_to(ART.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ART.rglob("*.py")}


def imports(name, top_level_only):
    """The modules `name` imports: art's own by their module names, others by their top
    package; `top_level_only` leaves out imports inside functions."""
    tree = ast.parse(MODULES[name].read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from art.plan import levels` names a module; `from art.x import f`, a name.
            found |= {"%s.%s" % (node.module, alias.name) if "%s.%s" % (node.module, alias.name)
                      in MODULES else node.module for alias in node.names}
    return {n if n in MODULES else n.split(".")[0] for n in found}


def reach(name, top_level_only=False):
    seen, todo = set(), [name]
    while todo:
        for found in imports(todo.pop(), top_level_only) - seen:
            seen.add(found)
            if found in MODULES:
                todo.append(found)
    return seen


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("art.plan"))
                         + ["art.config", "art.errors"])
def test_planning_never_imports_tensorflow(name):
    """So a plan is made, checked and refused before the network is loaded, even by a
    function-level import."""
    assert "tensorflow" not in reach(name)


def test_the_packages_are_the_architecture():
    flat = sorted(n for n in MODULES if n.count(".") == 1)
    assert flat == ["art.commands", "art.config", "art.engine", "art.errors", "art.files",
                    "art.plan", "art.quality"]


def test_no_two_modules_import_each_other():
    """Not even through an import inside a function."""
    cycles = sorted(n for n in MODULES if n != "art" and n in reach(n)
                    - {n.rsplit(".", 1)[0]})
    assert cycles == []


# Each part imports only from the parts before it: the architecture, bottom up.
ORDER = ("art.errors", "art.plan", "art.files", "art.config", "art.engine", "art.quality",
         "art.commands")


def rank(name):
    return max((i for i, part in enumerate(ORDER) if name == part or name.startswith(part + ".")),
               default=0)


def test_each_part_imports_only_the_parts_below_it():
    upward = sorted("%s -> %s" % (name, found) for name in MODULES for found in imports(name, False)
                    if found in MODULES and rank(found) > rank(name))
    assert upward == []


def test_the_reader_sees_the_imports_it_should():
    """The two helpers above can fail: render reaches TensorFlow; levels reads the table."""
    assert "tensorflow" in reach("art.engine.render")
    assert "art.plan.layers" in imports("art.plan.levels", top_level_only=True)
    assert rank("art.engine.render") > rank("art.config") > rank("art.plan.levels")
