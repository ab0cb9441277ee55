#!/usr/bin/env python3
"""Prints the import cycles between the modules of a crate, and fails if there are any.

A module depends on another when it names it through `crate::` (a path, or a `use` group),
or names an item the crate root re-exports from it (`pub use module::Item;`). Test
modules (after `#[cfg(test)]`) and comments are ignored.

Usage: module-cycles.py CRATE_SRC_DIR...
"""
import os
import re
import sys


def modules(src):
    found = {}
    for root, _, files in os.walk(src):
        for f in files:
            if f.endswith(".rs"):
                rel = os.path.relpath(os.path.join(root, f), src)[:-3]
                name = re.sub(r"(^|/)mod$", "", rel).replace("/", "::")
                with open(os.path.join(root, f)) as fh:
                    found[name] = fh.read()
    return found


def graph(src):
    mods = modules(src)
    root = mods.pop("lib", "") + mods.pop("main", "")
    reexported = {}
    for m in re.finditer(r"pub use (\w+)::\{?([^;]*?)\}?;", root, re.S):
        for item in m.group(2).replace("{", "").replace("}", "").split(","):
            if item.strip():
                reexported[item.split(" as ")[-1].strip()] = m.group(1)

    def owner(path):
        parts = path.split("::")
        for n in range(len(parts), 0, -1):
            if "::".join(parts[:n]) in mods:
                return "::".join(parts[:n])
        return reexported.get(parts[0])

    edges = {}
    for name, text in mods.items():
        text = re.split(r"#\[cfg\(test\)\]", text)[0]
        text = re.sub(r"//.*", "", text)
        deps = set()
        for path in re.findall(r"crate::((?:\w+::)*\w+)", text):
            deps.add(owner(path))
        for group in re.findall(r"use crate::(?:((?:\w+::)*))\{([^}]*)\}", text):
            prefix, items = group
            for item in items.split(","):
                item = item.strip().split(" as ")[0]
                if item:
                    deps.add(owner(prefix + item))
        deps.discard(None)
        deps.discard(name)
        # A module may use its own submodules and its parent freely: that is nesting.
        edges[name] = {d for d in deps if not d.startswith(name + "::") and not name.startswith(d + "::")}
    return edges


def cycles(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
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
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


failed = False
for src in sys.argv[1:]:
    edges = graph(src)
    for comp in cycles(edges):
        failed = True
        print(f"{src}: import cycle between {len(comp)} modules:")
        for m in comp:
            print(f"  {m} -> {', '.join(sorted(edges[m] & set(comp)))}")
sys.exit(1 if failed else 0)
