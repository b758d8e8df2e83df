#!/usr/bin/env python3
"""Extracts every C# code block of the documentation into C# files that .ci/consumer.sh compiles against the packed
packages, so that an example that no longer compiles fails CI with the document and line it came from.

Usage: .ci/doc-snippets.py SNIPPETS_DIR PROGRAM_CS   (run from the repository root)

Documents: every Markdown file git tracks. Blocks: fences opened with ```csharp, ```cs or ```c#.

- The block after the `<!-- consumer-example -->` line of docs/getting-started.md (exactly one) is written verbatim
  to PROGRAM_CS: it is the consumer app's Program.cs, which consumer.sh builds and runs; the other files are compiled
  in the same project.
- Every other block becomes one file in SNIPPETS_DIR. Its leading `using` directives stay at the top of the file; its
  statements become the body of a method (async when they await; `args` is a parameter, as in a top-level program);
  type declarations after them (a line at the block's left margin starting a class, record, struct, interface, enum
  or delegate) go into the namespace DocSnippets, which every block's code sees, so one document may use a type that
  another declares.
- A block with `using` directives and no `given` (below) is a complete file: it sees only those namespaces and the
  SDK's implicit usings, as a reader who copies it would. Every other block is an excerpt and also sees every namespace
  of the three packages.
- `#line` directives map every line back to the document, so the compiler's errors name the document and its line.

An excerpt states what it assumes in an HTML comment on the line before the fence (blank lines may come between):

  <!-- snippet: given Sequential model, float[] images -->   its free variables, which become the method's parameters
  <!-- snippet: skip REASON -->                              not compiled (keep these few; the reason is required)

The package readmes (src/*/PACKAGE.md) take no such comment: nuget.org shows them to readers who cannot see the rest of
the documentation, so their examples must compile as they stand.
"""
import os
import re
import subprocess
import sys

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")
CSHARP = {"csharp", "cs", "c#"}
MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(?P<body>.*?)\s*-->\s*$")
COMMENT_LINE = re.compile(r"^\s*<!--.*-->\s*$")
USING = re.compile(r"^using\s+(static\s+)?[\w.]+(\s*=\s*[\w.<>, ]+)?\s*;\s*(//.*)?$")
TYPE_START = re.compile(
    r"^(\[[^\]]*\]\s*)*((public|internal|private|protected|sealed|static|abstract|partial|file|readonly|unsafe|ref)\s+)*"
    r"(class|struct|record|interface|enum|delegate)\b"
)
ATTRIBUTE_LINE = re.compile(r"^\[.*\]\s*(//.*)?$")
CONSUMER_DOC = "docs/getting-started.md"
CONSUMER_MARKER = "<!-- consumer-example -->"


class DocError(Exception):
    pass


def documents():
    out = subprocess.run(["git", "ls-files", "-z", "--", "*.md"], check=True, capture_output=True).stdout
    return sorted(p for p in out.decode().split("\0") if p)


def blocks(path):
    """Yields (fence line number, info word, lines, the preceding non-blank lines) for every fenced block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent, start = m.group("fence"), len(m.group("indent")), i
        closer = re.compile(r"^ *" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
        body = []
        i += 1
        while i < len(lines) and not closer.match(lines[i]):
            line = lines[i]
            # A fence indented by n spaces (in a list item, say) strips up to n spaces from its lines (CommonMark).
            strip = min(indent, len(line) - len(line.lstrip(" ")))
            body.append(line[strip:])
            i += 1
        if i == len(lines):
            raise DocError(f"{path}:{start + 1}: the code block opened here is never closed")
        before = []
        j = start - 1
        while j >= 0 and (not lines[j].strip() or COMMENT_LINE.match(lines[j])):
            if lines[j].strip():
                before.append(lines[j].strip())
            j -= 1
        yield start + 1, m.group("info").lower(), body, before
        i += 1


def parse_marker(path, line, before):
    given, skip = [], None
    for text in before:
        m = MARKER.match(text)
        if not m:
            continue
        if os.path.basename(path) == "PACKAGE.md":
            raise DocError(f"{path}:{line}: a package readme's example must compile as it stands (no snippet comment)")
        body = m.group("body")
        if body.startswith("given "):
            for param in body[len("given "):].split(","):
                param = param.strip()
                if not re.match(r"^[\w.<>\[\]?, ]+\s+\w+$", param):
                    raise DocError(f"{path}:{line}: '{param}' in '{text}' is not 'Type name'")
                given.append(param)
        elif body.startswith("skip ") and body[len("skip "):].strip():
            skip = body[len("skip "):].strip()
        else:
            raise DocError(f"{path}:{line}: unknown snippet comment '{text}' (given TYPE NAME, ... | skip REASON)")
    return given, skip


def package_namespaces():
    """The namespaces of the three packages that hold a public type."""
    names = set()
    for project in ("NeuralCore", "NeuralCore.Datasets", "NeuralCore.Onnx"):
        for root, dirs, files in os.walk(os.path.join("src", project)):
            dirs[:] = [d for d in dirs if d not in ("bin", "obj")]
            for name in files:
                if not name.endswith(".cs"):
                    continue
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    text = f.read()
                ns = re.search(r"^namespace\s+([\w.]+)", text, re.M)
                if ns and re.search(r"^\s*public\s+(\w+\s+)*(class|struct|record|interface|enum|delegate)\b", text, re.M):
                    names.add(ns.group(1))
    return sorted(names)


def line_directive(number, path):
    return f'#line {number} "{os.path.abspath(path)}"'


def snippet_file(path, line, body, given, namespaces):
    """The C# file for one block; body lines start on document line line + 1."""
    # Leading using directives (blank and comment lines may come between them).
    first = 0
    usings = []
    for k, text in enumerate(body):
        stripped = text.strip()
        if USING.match(stripped):
            usings.append(k)
            first = k + 1
        elif stripped and not stripped.startswith("//"):
            break
    # Type declarations start at the block's left margin (with their attributes, on the lines just above).
    split = len(body)
    for k in range(first, len(body)):
        if TYPE_START.match(body[k]):
            split = k
            while split > first and ATTRIBUTE_LINE.match(body[split - 1]):
                split -= 1
            break
    statements, types = body[first:split], body[split:]
    has_statements = any(t.strip() and not t.strip().startswith("//") for t in statements)

    ident = re.sub(r"\W", "_", path) + f"_L{line}"
    out = [f"// Extracted by .ci/doc-snippets.py from {path}, the block at line {line}.", "#nullable enable"]
    if not usings or given:
        own = {re.sub(r"^using\s+|\s*;.*$", "", body[k].strip()) for k in usings}
        out += [f"using {ns};" for ns in namespaces if ns not in own]
    for k in usings:
        out += [line_directive(line + 1 + k, path), body[k]]
    out += ["#line default", "", "namespace DocSnippets", "{"]
    if has_statements:
        is_async = re.search(r"\bawait\b", "\n".join(statements)) is not None
        params = given if any(p.split()[-1] == "args" for p in given) else ["string[] args"] + given
        out += [
            f"    internal static class {ident}",
            "    {",
            f"        internal static {'async Task' if is_async else 'void'} Run({', '.join(params)})",
            "        {",
            line_directive(line + 1 + first, path),
            *statements,
            "#line default",
            "        }",
            "    }",
        ]
    if types:
        out += [line_directive(line + 1 + split, path), *types, "#line default"]
    out += ["}", ""]
    return ident, "\n".join(out)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    snippets_dir, program_cs = sys.argv[1], sys.argv[2]
    os.makedirs(snippets_dir, exist_ok=True)
    namespaces = package_namespaces()
    compiled = skipped = 0
    consumer = None
    try:
        for path in documents():
            for line, info, body, before in blocks(path):
                if info not in CSHARP:
                    continue
                if path == CONSUMER_DOC and CONSUMER_MARKER in before:
                    if consumer is not None:
                        raise DocError(f"{path}:{line}: a second block follows '{CONSUMER_MARKER}'")
                    consumer = (line, body)
                    continue
                given, skip = parse_marker(path, line, before)
                if skip:
                    print(f"doc-snippets: {path}:{line}: skipped ({skip})")
                    skipped += 1
                    continue
                ident, text = snippet_file(path, line, body, given, namespaces)
                with open(os.path.join(snippets_dir, ident + ".cs"), "w", encoding="utf-8") as f:
                    f.write(text)
                compiled += 1
        if consumer is None:
            raise DocError(f"{CONSUMER_DOC}: no ```csharp block right after a '{CONSUMER_MARKER}' line")
    except DocError as e:
        sys.exit(f"doc-snippets: {e}")
    line, body = consumer
    with open(program_cs, "w", encoding="utf-8") as f:
        f.write("\n".join([line_directive(line + 1, CONSUMER_DOC), *body, ""]))
    print(f"doc-snippets: {CONSUMER_DOC}:{line} -> Program.cs ({len(body)} lines); "
          f"{compiled} other blocks to compile, {skipped} skipped")


if __name__ == "__main__":
    main()
