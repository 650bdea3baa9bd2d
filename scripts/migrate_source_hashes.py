"""One-off (2026-12-04): re-seal the frozen results with source hashes in the Python-independent form
(equidocs.codehash) instead of ``ast.unparse``'s, without re-training. Refuses any result that
(1) its sources under the old form do not match (it would be stale anyway), or (2) whose result does
not follow again from its recorded runs (audit.rederive). Only ``sources``, ``source_hash``, ``key``
and the checksum change; the runs, the result and the provenance stay as they were.
"""

import ast
import hashlib
import json
import sys

from equidocs import audit, cache, codehash, experiments, frozen


def old_form(module: str) -> str:
    """The source hash the results were sealed with: ast.unparse of the same stripped tree."""
    text = cache._module_path(module).read_text(encoding="utf-8")
    tree = ast.parse(text)
    tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name == "figure")
                 and not codehash.drawing_import(n)]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Config":
            node.body = [n for n in node.body if not (isinstance(n, ast.FunctionDef) and n.name == "profile")]
    return hashlib.sha256(ast.unparse(codehash.drop_docstrings(tree)).encode()).hexdigest()[:12]


def main() -> int:
    assert sys.version_info[:2] == (3, 11), "the results were sealed under Python 3.11"
    for name in experiments.NAMES:
        record = frozen.read(name)
        module = experiments.get(name).__name__
        then = {m: old_form(m) for m in cache.dependencies(module)}
        assert then == record["sources"], f"{name}: stale under the old form too: {then} vs {record['sources']}"
        assert record["config"] == frozen.current_config(name), f"{name}: config changed"
        found = audit.differences(audit.rederive(record), record["result"])
        assert not found, f"{name}: {audit.summarise(found)}"
        body = {k: v for k, v in record.items() if k != "checksum"}
        body["sources"] = cache.module_hashes(module)
        body["source_hash"] = cache.source_hash(module)
        payload = json.dumps({"name": name, "config": {"profile": record["profile"], "config": record["config"]},
                              "source": body["source_hash"], "versions": record["versions"]},
                             sort_keys=True, default=str)  # cache.cache_key, with the sealing machine's versions
        body["key"] = hashlib.sha256(payload.encode()).hexdigest()[:20]
        frozen.write(body)
        assert frozen.staleness(name) == [], name
        print(f"{name}: re-sealed ({len(record['runs'])} runs re-derived, nothing trained)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
