"""The #include graph of proxy/, gateway/ and common/ has no cycle.

A module is a header and its .c (proxy/core/conn.h + conn.c): module A
depends on module B when a.c or a.h includes b.h.  Any cycle between modules
fails the test, with the includes that make it (file:line), so that each
layer can be read, built and tested on top of the ones below it.

Quoted includes are resolved as the build does: beside the including file,
else by file name (file names are unique across the three folders; an
ambiguous one is an error).  Includes of files outside the tree (<...>,
generated headers, llhttp) are not edges.

The checker's own unit tests build small trees with and without a cycle, so
the test shown passing on the real tree is one that can fail.

Run directly (python3 tests/layout/test_include_graph.py) or from ctest."""
import os
import re
import shutil
import sys
import tempfile
import unittest

ROOTS = ("proxy", "gateway", "common")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def sources(src_dir, roots=ROOTS):
    """Every .c and .h under the roots, as paths relative to src_dir."""
    out = []
    for root in roots:
        for d, dirs, files in os.walk(os.path.join(src_dir, root)):
            dirs.sort()
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(d, f), src_dir))
    return out


def module(path):
    """A header and its .c are one module: the path without its extension."""
    return os.path.splitext(path)[0]


def graph(src_dir, roots=ROOTS):
    """{module: {module it includes: [(file, line, included path)]}}; raises
    ValueError on an include that names two files of the tree."""
    files = sources(src_dir, roots)
    known = set(files)
    by_name = {}
    for f in files:
        by_name.setdefault(os.path.basename(f), []).append(f)
    g = {module(f): {} for f in files}
    for f in files:
        with open(os.path.join(src_dir, f), encoding="utf-8", errors="replace") as fh:
            for n, text in enumerate(fh, 1):
                m = INCLUDE.match(text)
                if not m:
                    continue
                inc = m.group(1)
                beside = os.path.normpath(os.path.join(os.path.dirname(f), inc))
                if beside in known:
                    target = beside
                else:
                    cands = by_name.get(os.path.basename(inc), [])
                    cands = [c for c in cands if c.endswith(inc)]
                    if len(cands) > 1:
                        raise ValueError("%s:%d: #include \"%s\" names %s" % (f, n, inc, ", ".join(cands)))
                    if not cands:
                        continue  # outside the tree: generated or external
                    target = cands[0]
                a, b = module(f), module(target)
                if a != b:
                    g[a].setdefault(b, []).append((f, n, target))
    return g


def cycles(g):
    """The strongly connected components of more than one module (Tarjan),
    each as a sorted list of modules, sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, {})):
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

    sys.setrecursionlimit(max(1000, 4 * len(g) + 100))
    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def explain(g, comp):
    """The includes inside one cycle, one per line (file:line -> header)."""
    lines = ["cycle between %d modules: %s" % (len(comp), ", ".join(comp))]
    members = set(comp)
    for a in comp:
        for b in sorted(g[a]):
            if b in members:
                for f, n, target in g[a][b]:
                    lines.append("  %s:%d includes %s" % (f, n, target))
    return "\n".join(lines)


class Checker(unittest.TestCase):
    """The checker itself, on trees built here."""

    def tree(self, files):
        d = tempfile.mkdtemp(prefix="incgraph.")
        self.addCleanup(shutil.rmtree, d)
        for path, text in files.items():
            os.makedirs(os.path.join(d, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(d, path), "w") as f:
                f.write(text)
        return d

    def test_header_and_c_make_one_module(self):
        # a.h includes b.h, and b.c (not b.h) includes a.h: a cycle
        d = self.tree({
            "proxy/a.h": '#include "b.h"\n',
            "proxy/a.c": '#include "a.h"\n',
            "proxy/core/b.h": "\n",
            "proxy/core/b.c": '#include "b.h"\n#include "../a.h"\n',
        })
        g = graph(d)
        self.assertEqual(cycles(g), [["proxy/a", "proxy/core/b"]])
        self.assertIn("proxy/core/b.c:2 includes proxy/a.h", explain(g, cycles(g)[0]))

    def test_three_across_folders(self):
        d = self.tree({
            "common/x.h": '#include "y.h"\n',
            "gateway/y.c": '#include "z.h"\n',
            "proxy/z.c": '#include "x.h"\n',
            "gateway/y.h": "", "proxy/z.h": "",
        })
        self.assertEqual(cycles(graph(d)), [["common/x", "gateway/y", "proxy/z"]])

    def test_layers_pass(self):
        d = self.tree({
            "common/buf.h": "#include <stddef.h>\n",
            "common/buf.c": '#include "buf.h"\n',
            "proxy/conn.h": '#include "buf.h"\n#include "llhttp.h"\n',
            "proxy/conn.c": '#include "conn.h"\n#include "req.h"\n',
            "proxy/req.h": '#include "buf.h"\n',
        })
        self.assertEqual(cycles(graph(d)), [])

    def test_ambiguous_name_is_an_error(self):
        d = self.tree({"proxy/a/x.h": "", "gateway/b/x.h": "", "proxy/m.c": '#include "x.h"\n'})
        with self.assertRaises(ValueError):
            graph(d)


class Tree(unittest.TestCase):
    """The real tree."""

    def test_no_include_cycle(self):
        src = os.environ.get("SRC_DIR") or os.path.abspath(
            os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
        g = graph(src)
        self.assertGreater(len(g), 10, "no sources under %s" % src)
        found = cycles(g)
        self.assertEqual(found, [], "\n" + "\n".join(explain(g, c) for c in found))


if __name__ == "__main__":
    unittest.main(verbosity=2)
