"""The API reference as a reader copies it: runnable examples, typeset formulas. No docstring edited.

Two parts, both registered in mkdocs.yml:

- ``DoctestExamples``, a Griffe extension (mkdocstrings' ``extensions`` option), rewrites each
  docstring as mkdocstrings loads it, before its Markdown is rendered:

  * every ``>>>`` doctest block becomes a fenced ``pycon`` code block (Markdown would otherwise read
    ``>>>`` as nested block quotes). A docstring's examples run in its module's namespace, so a
    copied one would fail on names such as ``torch`` or ``count_parameters``: the block is prefixed
    with the ``>>> import ...`` lines it needs, resolved from the module itself. A name that cannot
    be resolved is a build warning (``--strict`` fails).
  * an inline literal that is clearly a formula (``||f(S x) - S' f(x)||``, ``E[i, j] = mean_n ...``:
    not valid Python, with an ``=``, a norm, a sum or a mean) is typeset as ``\\(...\\)`` math, which
    pymdownx.arithmatex passes to MathJax. ``$...$`` and ``\\(...\\)`` written in a docstring render
    as they are.

- ``on_page_content`` (an MkDocs hook) gives every ``pycon`` block a ``data-copy`` attribute: the
  code lines without prompts and outputs. Material's copy button copies ``data-copy`` when an
  ancestor of the code has it (by default it copies the text as shown, prompts and outputs
  included, which is not valid Python).
"""

from __future__ import annotations

import ast
import builtins
import doctest
import html
import importlib
import logging
import re
from types import ModuleType

import griffe

log = logging.getLogger("mkdocs.plugins.equidocs.api")

# --- Doctest blocks -> pycon fences with the imports they need --------------------------------------

_PROMPT = re.compile(r"^(\s*)>>>( |$)")


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names read, names bound) by a piece of code."""
    read, bound = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:  # except E as error
            bound.add(node.name)
    return read, bound


def _import_line(name: str, value: object, module: ModuleType) -> str:
    """The import statement that binds ``name`` to ``value`` as in ``module``'s namespace."""
    if isinstance(value, ModuleType):
        full = value.__name__
        if full == name:
            return f"import {name}"
        parent, _, last = full.rpartition(".")
        return f"from {parent} import {name}" if last == name and parent else f"import {full} as {name}"
    origin = getattr(value, "__module__", None)
    if isinstance(origin, str) and origin != module.__name__:
        try:
            if getattr(importlib.import_module(origin), name, None) is value:
                return f"from {origin} import {name}"
        except ImportError:
            pass
    return f"from {module.__name__} import {name}"


def _prelude(examples: list[doctest.Example], module: ModuleType, where: str) -> list[str]:
    """``>>> import ...`` lines for the names the examples read but do not bind themselves."""
    read, bound = set(), set()
    for example in examples:
        r, b = _names(example.source)
        read |= r - bound  # a name bound by an earlier example is the example's own
        bound |= b
    namespace = vars(module)
    plain, grouped = set(), {}
    for name in sorted(read - bound - set(dir(builtins))):
        if name not in namespace:
            log.warning("api_hooks: %s: the example uses %r, which is not in %s's namespace",
                        where, name, module.__name__)
            continue
        line = _import_line(name, namespace[name], module)
        if line.startswith("from ") and " as " not in line:
            source, _, imported = line[5:].partition(" import ")
            grouped.setdefault(source, []).append(imported)
        else:
            plain.add(line)
    lines = sorted(plain) + [f"from {source} import {', '.join(names)}"
                             for source, names in sorted(grouped.items())]
    return [f">>> {line}" for line in lines]


def fence_doctests(text: str, module: ModuleType, where: str) -> tuple[str, int]:
    """``text`` with each ``>>>`` block as a fenced pycon block prefixed by its imports; the count."""
    lines, out, count, i = text.split("\n"), [], 0, 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _PROMPT.match(line)
        if not match:
            out.append(line)
            i += 1
            continue
        indent = match.group(1)
        block = []
        while i < len(lines) and lines[i].strip():  # a doctest block ends at a blank line
            block.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        body = "\n".join(block)
        examples = doctest.DocTestParser().get_examples(body)
        prelude = _prelude(examples, module, where)
        if out and out[-1].strip():
            out.append("")
        out += [indent + row for row in ["```pycon", *prelude, *block, "```"]]
        if i < len(lines):
            out.append("")
        count += 1
    return "\n".join(out), count


# --- Formulas written as inline literals -> TeX ------------------------------------------------------

_LITERAL = re.compile(r"``(?!`)(.+?)(?<!`)``")
_FORMULA_MARK = re.compile(r" = | == |\|\||\b(?:sum|mean)_\w")
_PRIMED = re.compile(r"^[A-Za-z]'+$")  # S', x''
_NOT_TEX = re.compile(r"[{}\\$%#&~\"`]")
_OPERATORS = {"mean", "argmax", "argmin", "max", "min", "sum"}
_TOKEN = re.compile(
    r"(?P<norm>\|\|)|(?P<eq>==)|(?P<le><=)|(?P<ge>>=)"
    r"|(?P<word>[A-Za-z]+)(?P<digits>\d*)(?:_(?P<sub>[A-Za-z0-9]))?"
    r"|(?P<other>.)", re.S)


def formula_tex(literal: str) -> str | None:
    """TeX for an inline literal that is clearly a formula, else None (the literal stays code).

    >>> formula_tex("||f(S x) - f(x)|| / ||f(x)||")
    '\\\\lVert f(S x) - f(x)\\\\rVert / \\\\lVert f(x)\\\\rVert'
    >>> formula_tex("E[i, j] = mean_n sum_c |e| / m")
    'E[i, j] = \\\\operatorname{mean}_{n} \\\\sum_{c} |e| / m'
    >>> formula_tex("y[..., i] = x[..., i - dy]") is None  # valid Python: code, not a formula
    True
    """
    primed = bool(_PRIMED.match(literal))
    if _NOT_TEX.search(literal) or not (primed or _FORMULA_MARK.search(literal)):
        return None
    if not primed:
        try:
            ast.parse(literal)
            return None
        except SyntaxError:
            pass
    pieces, norm_open, text_run = [], False, []

    def flush() -> None:  # consecutive English words become one \text{...}, spaces kept
        if text_run:
            words = "".join(text_run)
            core = words.strip()
            after_operator = bool(pieces) and pieces[-1].startswith("\\operatorname")  # spaced already
            lead = " " if words[:1] == " " and not after_operator else ""
            trail = " " if words[-1:] == " " else ""
            pieces.append(f"\\text{{{lead}{core}{trail}}}")
            text_run.clear()

    tokens = list(_TOKEN.finditer(literal))
    for k, t in enumerate(tokens):
        following = literal[t.end():t.end() + 1]
        if t["word"] and len(t["word"]) > 1 and not t["digits"] and not t["sub"] \
                and t["word"] not in _OPERATORS and following != "(":
            if pieces and pieces[-1] == " " and not text_run:
                pieces.pop()
                text_run.append(" ")
            text_run.append(t["word"])
            continue
        if t["other"] == " " and text_run:
            text_run.append(" ")
            continue
        flush()
        if t["norm"]:
            pieces.append("\\rVert" if norm_open else "\\lVert ")
            norm_open = not norm_open
        elif t["eq"]:
            pieces.append("=")
        elif t["le"]:
            pieces.append("\\le")
        elif t["ge"]:
            pieces.append("\\ge")
        elif t["word"]:
            word = t["word"]
            if word == "sum":
                head = "\\sum"
            elif word in _OPERATORS:
                head = f"\\operatorname{{{word}}}"
            elif len(word) > 1:
                head = f"\\mathrm{{{word}}}"
            else:
                head = word
            sub = t["digits"] or t["sub"]
            pieces.append(f"{head}_{{{sub}}}" if sub else head)
        else:
            pieces.append(t["other"])
    flush()
    if norm_open:
        return None
    return "".join(pieces).strip()


def typeset_formulas(text: str) -> tuple[str, int]:
    """``text`` with inline literals that are formulas written as ``\\(...\\)`` (outside fences)."""
    out, count, in_fence = [], 0, False

    def replace(match: re.Match) -> str:
        nonlocal count
        tex = formula_tex(match.group(1))
        if tex is None:
            return match.group(0)
        count += 1
        return f"\\({tex}\\)"

    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        out.append(line if in_fence else _LITERAL.sub(replace, line))
    return "\n".join(out), count


class DoctestExamples(griffe.Extension):
    """Griffe extension: doctest blocks -> pycon fences with their imports; formulas -> TeX."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        docstring = obj.docstring
        if docstring is None or obj.is_alias:
            return
        text, _ = typeset_formulas(docstring.value)
        if ">>>" in text and not obj.module.path.endswith("__main__"):  # importing it runs the CLI
            try:
                module = importlib.import_module(obj.module.path)
            except ImportError as error:
                log.warning("api_hooks: cannot import %s for its examples: %s", obj.module.path, error)
            else:
                text, _ = fence_doctests(text, module, obj.path)
        docstring.value = text


# --- The copy button: pycon blocks copy their code, without prompts or outputs ------------------------

_PYCON = re.compile(r'<div (?P<attrs>class="[^"]*\blanguage-pycon\b[^"]*"[^>]*)>(?P<body>.*?</code></pre>)', re.S)
_CODE = re.compile(r"<code[^>]*>(.*?)</code>", re.S)
_TAG = re.compile(r"<[^>]+>")


def code_text(code_html: str) -> str:
    """The text of a highlighted code block (what the page shows)."""
    return html.unescape(_TAG.sub("", code_html))


def pycon_copy_text(text: str) -> str:
    """The code of a pycon (doctest) block: its sources, without prompts and outputs."""
    return "".join(e.source for e in doctest.DocTestParser().get_examples(text)).rstrip("\n")


def on_page_content(html_text: str, page, config, files) -> str:
    def add_copy(match: re.Match) -> str:
        attrs, body = match["attrs"], match["body"]
        if "data-copy" in attrs:
            return match.group(0)
        code = _CODE.search(body)
        copy = pycon_copy_text(code_text(code.group(1))) if code else ""
        value = html.escape(copy, quote=True).replace("\n", "&#10;")
        return f'<div {attrs} data-copy="{value}">{body}'

    return _PYCON.sub(add_copy, html_text)
