#!/usr/bin/env python3
"""Import circles between the top-level modules of the backend crate.

Reads every `backend/src/**/*.rs` (the library; `main.rs` is the binary), collects each
reference to another module of the crate (`use crate::a::…`, `crate::a::f(…)`,
`use crate::{a, b::c}`, and `super::…` that climbs out of the file's own top-level module),
and builds the graph whose nodes are the top-level modules (`routes`, `auth`, `attendance`,
…). Comments are ignored; the crate root (`lib.rs`: `AppState`, the router) is the hub every
module hangs from and is not a node. Prints every strongly connected component with more
than one module (and one path around it), exit status 1 when there is one.

Usage: python3 tests/support/module_cycles.py [backend/src] [-v]
"""

import os
import re
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
args = [a for a in sys.argv[1:] if not a.startswith("-")]
verbose = "-v" in sys.argv[1:]
src = os.path.normpath(args[0] if args else os.path.join(root, "backend", "src"))


def module_path(rel):
    """`routes/auth/mod.rs` -> ["routes", "auth"]."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        # `//` starts a comment unless it is part of a URL inside a string (`http://`).
        line = re.sub(r"(?<![:\"'])//.*$", "", line)
        out.append(line)
    return "\n".join(out)


files = {}
for dirpath, _, names in os.walk(src):
    for n in names:
        if n.endswith(".rs"):
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, src)
            if rel in ("main.rs", "lib.rs"):
                continue
            files[rel] = strip_comments(open(full, encoding="utf-8").read())

top_modules = {module_path(rel)[0] for rel in files}

edges = {m: {} for m in top_modules}  # from -> {to: "file:line" of one witness}


def add(frm, to, where):
    if to in top_modules and to != frm:
        edges[frm].setdefault(to, where)


def group_heads(body):
    """Top-level names of a `{a, b::c, d::{e, f}}` use group."""
    heads, depth, cur = [], 0, ""
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if depth == 0 and ch == ",":
            heads.append(cur)
            cur = ""
        else:
            cur += ch
    heads.append(cur)
    return [re.split(r"::|\s", h.strip())[0] for h in heads if h.strip()]


for rel, text in files.items():
    me = module_path(rel)
    top = me[0]
    for i, line in enumerate(text.splitlines(), 1):
        where = f"{rel}:{i}"
        for m in re.finditer(r"\bcrate::([A-Za-z_][A-Za-z0-9_]*)", line):
            add(top, m.group(1), where)
        for m in re.finditer(r"\bcrate::\{", line):
            # The group may span lines: read up to its closing brace.
            start = sum(len(l) + 1 for l in text.splitlines()[: i - 1]) + m.end()
            depth, j = 1, start
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            for h in group_heads(text[start : j - 1]):
                add(top, h, where)
        for m in re.finditer(r"\b((?:super::)+)([A-Za-z_][A-Za-z0-9_]*)", line):
            ups = m.group(1).count("super::")
            # `super` of a module at depth d (["a", "b"] has d=2) is its parent; climbing to
            # the crate root and naming a module there is a reference to that module.
            if ups >= len(me):
                add(top, m.group(2), where)

# Strongly connected components (Tarjan).
index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in sorted(edges[v]):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        comps.append(sorted(comp))


sys.setrecursionlimit(10000)
for v in sorted(top_modules):
    if v not in index:
        visit(v)


def cycle_in(comp):
    """One cycle through the component's first module, by breadth-first search."""
    start, inside = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v]):
            if w not in inside:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                path.reverse()
                return path + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


if verbose:
    for v in sorted(edges):
        print(f"{v} -> {', '.join(sorted(edges[v])) or '-'}")

circles = [c for c in comps if len(c) > 1]
if not circles:
    print(f"module_cycles: no import circles between the {len(top_modules)} top-level modules of {os.path.relpath(src, root)}")
    sys.exit(0)
for c in circles:
    path = cycle_in(c)
    print(f"circle among {{{', '.join(c)}}}:")
    for a, b in zip(path, path[1:]):
        print(f"  {a} -> {b}   ({edges[a][b]})")
sys.exit(1)
