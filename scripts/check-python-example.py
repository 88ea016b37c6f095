"""Checks a Python example against the Python bindings jsii-pacmak generates for this package.

Usage: python3 scripts/check-python-example.py <bindings __init__.py> <example.py>

The bindings import the jsii runtime and aws_cdk, which are not installed here (no PyPI), so
they are read, not imported: this parses both files with `ast` and checks, for everything the
example takes from `cdk_multi_staging`:

- every imported name is a class of the bindings;
- every call of a class, a static method or a method names only keyword arguments the
  signature has, passes every required one, and no more positional arguments than it takes;
- every attribute read on a value whose class is known (from a constructor or a return
  annotation) exists on that class or one of its bases in the bindings.

What comes from aws_cdk is not checked (its bindings are not here). The example must also
compile (py_compile). Prints one line per problem and exits 1, or prints a summary.
"""

import ast
import py_compile
import sys


class Signature:
    def __init__(self, fn: ast.FunctionDef, drop_first: bool):
        args = fn.args
        positional = [a.arg for a in args.posonlyargs + args.args]
        if drop_first and positional:
            positional = positional[1:]
        defaults = len(args.defaults)
        self.positional = positional
        self.required_positional = positional[: len(positional) - defaults] if defaults else positional
        self.keywords = set(positional) | {a.arg for a in args.kwonlyargs}
        self.required_keywords = {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None}
        self.varargs = args.vararg is not None
        self.returns = annotation_name(fn.returns)


def annotation_name(node):
    """The class name of a return annotation like `"StagingNames"` or `StagingNames`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.strip('"')
    if isinstance(node, ast.Name):
        return node.id
    return None


class Binding:
    def __init__(self, node: ast.ClassDef):
        self.name = node.name
        self.bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
        self.external_base = any(not isinstance(b, ast.Name) for b in node.bases if not _is_meta(b))
        self.init = None
        self.methods = {}
        self.properties = {}
        for item in node.body:
            if not isinstance(item, ast.FunctionDef):
                continue
            decorators = {ast.unparse(d) for d in item.decorator_list}
            if item.name == "__init__":
                self.init = Signature(item, drop_first=True)
            elif "builtins.property" in decorators or "property" in decorators:
                self.properties[item.name] = annotation_name(item.returns)
            elif not item.name.startswith("_"):
                self.methods[item.name] = Signature(item, drop_first=True)


def _is_meta(base):
    return isinstance(base, ast.Attribute) and ast.unparse(base) in ("typing_extensions.Protocol", "typing.Protocol")


def load_bindings(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    return {n.name: Binding(n) for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")}


class Checker(ast.NodeVisitor):
    def __init__(self, bindings, module):
        self.bindings = bindings
        self.module = module
        self.imported = {}  # local name -> class name
        self.variables = {}  # variable -> class name
        self.problems = []
        self.checked_calls = 0
        self.checked_attributes = 0

    def problem(self, node, message):
        self.problems.append(f"line {node.lineno}: {message}")

    def lookup(self, cls, attr):
        """(kind, value) of attr on cls or its bases; None when unknown; False when missing."""
        seen = set()
        todo = [cls]
        external = False
        while todo:
            name = todo.pop()
            if name in seen or name not in self.bindings:
                continue
            seen.add(name)
            b = self.bindings[name]
            if attr in b.properties:
                return ("property", b.properties[attr])
            if attr in b.methods:
                return ("method", b.methods[attr])
            external = external or b.external_base
            todo.extend(b.bases)
        return None if external else False

    def visit_ImportFrom(self, node):
        if node.module == self.module:
            for alias in node.names:
                if alias.name not in self.bindings:
                    self.problem(node, f"{self.module} has no {alias.name}")
                else:
                    self.imported[alias.asname or alias.name] = alias.name
        self.generic_visit(node)

    def class_of(self, node):
        """The bindings class an expression evaluates to, if known."""
        if isinstance(node, ast.Call):
            target = self.callee(node.func)
            if target:
                kind, cls, sig = target
                return cls if kind == "constructor" else (sig.returns if sig and sig.returns in self.bindings else None)
        if isinstance(node, ast.Name):
            return self.variables.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.class_of(node.value)
            if owner:
                found = self.lookup(owner, node.attr)
                if found and found[0] == "property" and found[1] in self.bindings:
                    return found[1]
        return None

    def callee(self, func):
        """('constructor'|'method', class, Signature) for calls into the bindings."""
        if isinstance(func, ast.Name) and func.id in self.imported:
            cls = self.imported[func.id]
            return ("constructor", cls, self.bindings[cls].init)
        if isinstance(func, ast.Attribute):
            owner = self.imported.get(func.value.id) if isinstance(func.value, ast.Name) and func.value.id in self.imported else self.class_of(func.value)
            if owner:
                found = self.lookup(owner, func.attr)
                if found is False:
                    self.problem(func, f"{owner} has no method {func.attr}")
                elif found and found[0] == "method":
                    return ("method", owner, found[1])
        return None

    def visit_Assign(self, node):
        cls = self.class_of(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                if cls:
                    self.variables[target.id] = cls
                else:
                    self.variables.pop(target.id, None)
        self.generic_visit(node)

    def visit_Call(self, node):
        target = self.callee(node.func)
        if target:
            kind, cls, sig = target
            label = cls if kind == "constructor" else f"{cls}.{ast.unparse(node.func).split('.')[-1]}"
            self.checked_calls += 1
            if sig is None:
                if node.args or node.keywords:
                    self.problem(node, f"{label}() takes no arguments")
            else:
                if len(node.args) > len(sig.positional) and not sig.varargs:
                    self.problem(node, f"{label}() takes {len(sig.positional)} positional arguments, got {len(node.args)}")
                given = {k.arg for k in node.keywords if k.arg}
                for k in sorted(given - sig.keywords):
                    self.problem(node, f"{label}() has no keyword argument {k} (it has: {', '.join(sorted(sig.keywords))})")
                missing = sorted(sig.required_keywords - given)
                missing += [p for p in sig.required_positional[len(node.args):] if p not in given]
                if missing:
                    self.problem(node, f"{label}() is missing {', '.join(missing)}")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if isinstance(node.ctx, ast.Load):
            owner = self.class_of(node.value) if not (isinstance(node.value, ast.Name) and node.value.id in self.imported) else self.imported[node.value.id]
            if owner:
                self.checked_attributes += 1
                if self.lookup(owner, node.attr) is False:
                    self.problem(node, f"{owner} has no attribute {node.attr}")
        self.generic_visit(node)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    bindings_path, example_path = argv[1], argv[2]
    try:
        py_compile.compile(example_path, doraise=True)
    except py_compile.PyCompileError as e:
        print(f"check-python-example: the example does not compile: {e.msg}")
        return 1
    bindings = load_bindings(bindings_path)
    checker = Checker(bindings, "cdk_multi_staging")
    checker.visit(ast.parse(open(example_path, encoding="utf-8").read(), example_path))
    if not checker.imported:
        checker.problems.append("the example imports nothing from cdk_multi_staging")
    for p in checker.problems:
        print(f"check-python-example: {example_path}: {p}")
    if checker.problems:
        return 1
    print(
        f"check-python-example: compiles; {len(checker.imported)} names, {checker.checked_calls} calls and "
        f"{checker.checked_attributes} attribute reads match the bindings of {len(bindings)} classes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
