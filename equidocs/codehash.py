"""Code in a form that is the same under every Python from 3.10, for the hashes that say whether a
frozen result or a logged run is still current.

``ast.unparse``'s text differs between Python versions (3.12 writes f-strings differently), so a
hash of it would call every result stale on another Python. These functions write the syntax tree
out node by node instead. Standard library only: tests/test_codehash.py runs this very file under
every other CPython on the machine and compares.

>>> code_text("def f(x):\\n    '''Doc.'''\\n    return x  # a comment\\n")
"Module(body=[FunctionDef(name='f', args=arguments(args=[arg(arg='x')]), body=[Return(value=Name(id='x', ctx=Load()))])])"
"""

from __future__ import annotations

import ast

DRAWING = ("matplotlib", "equidocs.plotting")  # imported for figures only


def canonical_dump(node: object) -> str:
    """``node`` written out as ``ast.dump`` would, without positions, without fields that are empty
    (None or []) and without an f-string's empty pieces: the same text for the same code under any
    Python 3 from 3.10.

    >>> canonical_dump(ast.parse("f(x=1)"))
    "Module(body=[Expr(value=Call(func=Name(id='f', ctx=Load()), keywords=[keyword(arg='x', value=Constant(value=1))]))])"
    """
    if isinstance(node, ast.AST):
        fields = dict(ast.iter_fields(node))
        if isinstance(node, ast.JoinedStr):  # 3.12 keeps empty pieces of an f-string (in format specs)
            fields["values"] = [v for v in node.values if not (isinstance(v, ast.Constant) and v.value == "")]
        parts = [f"{name}={canonical_dump(value)}" for name, value in fields.items()
                 if value is not None and value != []]
        return f"{type(node).__name__}({', '.join(parts)})"
    if isinstance(node, list):
        return f"[{', '.join(canonical_dump(v) for v in node)}]"
    return repr(node)


def drop_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` without the docstrings of its module, classes and functions (in place; returned)."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def code_text(source: str) -> str:
    """A module's code without comments and docstrings (they never change a number), in the same
    form under every Python: what the mechanism study's code hash reads."""
    return canonical_dump(drop_docstrings(ast.parse(source)))


def drawing_import(node: ast.stmt) -> bool:
    """A top-level import of drawing code only (figure styling cannot change a result).

    >>> drawing_import(ast.parse("import matplotlib.pyplot as plt").body[0])
    True
    """
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module:
        names = [node.module]
    else:
        return False
    return all(any(n == d or n.startswith(d + ".") for d in DRAWING) for n in names)


def result_text(source: str) -> str:
    """An experiment's (or library module's) code as far as it can change a result: without its
    ``figure`` function, drawing imports, docstrings, comments and ``Config.profile`` (what a profile
    selects is recorded, and compared, as the config itself). What a frozen result's source hashes
    read.

    >>> result_text("import matplotlib\\ndef figure(r):\\n    pass\\nX = 1\\n")
    "Module(body=[Assign(targets=[Name(id='X', ctx=Store())], value=Constant(value=1))])"
    """
    tree = ast.parse(source)
    tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name == "figure")
                 and not drawing_import(n)]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Config":
            node.body = [n for n in node.body if not (isinstance(n, ast.FunctionDef) and n.name == "profile")]
    return canonical_dump(drop_docstrings(tree))


if __name__ == "__main__":  # the oracle test's entry point: each file's two texts as JSON
    import json
    import sys

    texts = {}
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            source = f.read()
        texts[path] = [code_text(source), result_text(source)]
    print(json.dumps(texts))
