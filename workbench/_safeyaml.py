"""Reading YAML that a client or a colleague wrote: bounded, decoded, and limited.

Params files and codebooks are untrusted input.  :func:`load_yaml_file` reads one so that no
file can hang or crash the workbench, and every refusal names the file and the place:

* **Bounded read.**  Only regular files (not ``/dev/zero``, a FIFO or a folder), at most
  ``max_bytes``; a path holding a NUL character is refused before the file system sees it.
* **Text.**  UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark; any other
  encoding (Latin-1, GBK, UTF-16 without a mark) or a binary file is refused with the line and
  column of the first byte that is not UTF-8, and the advice to save the file as UTF-8.
* **Safe loader with limits.**  PyYAML's safe loader (no Python objects), refusing nesting deeper
  than ``max_depth`` while it reads (a 100,000-deep list fails at level 51, not in a
  ``RecursionError``), aliases that expand to more than ``max_nodes`` nodes ("billion laughs")
  or refer to themselves, checked before anything is built from them, and duplicate keys (YAML
  says a key appears once; PyYAML would keep the last silently).  Anchors and aliases within
  those limits keep working (a codebook may share one level list between questions).
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

__all__ = ["read_text", "load_yaml", "load_yaml_file", "YamlLimits", "TextLoader", "PlainLoader"]


class YamlLimits:
    """Limits of one kind of file."""

    def __init__(self, *, max_bytes: int, max_depth: int = 50, max_nodes: int = 200_000):
        self.max_bytes, self.max_depth, self.max_nodes = max_bytes, max_depth, max_nodes


def _mib(n: int) -> str:
    return f"{n / (1 << 20):g} MB"


def read_text(path: str | os.PathLike, *, max_bytes: int, what: str, error=ValueError) -> str:
    """The text of a small UTF-8 (or UTF-16 with BOM) file, read at most ``max_bytes``.

    Raises ``error`` with a message naming ``path``; ``what`` says what the file should be
    ("params file", "codebook").
    """
    if "\x00" in os.fspath(path):
        raise error(f"{what} path {os.fspath(path)!r} contains a NUL character")
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise error(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{what} {path} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {path} is not a regular file (a device, pipe or socket cannot be read)")
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise error(f"{what} {path} is larger than {_mib(max_bytes)}; is this the right file?")
    return decode_text(data, path, what=what, error=error)


def decode_text(data: bytes, path, *, what: str, error=ValueError) -> str:
    """Decode UTF-8 / UTF-8 with BOM / UTF-16 with BOM; refuse anything else, saying where."""
    if b"\x00" in data and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        at = data.index(b"\x00")
        utf16 = data[1::2].count(0) > len(data) // 4 or data[0::2].count(0) > len(data) // 4
        hint = "UTF-16 without a byte-order mark" if utf16 else "a binary file, not text"
        line = data.count(b"\n", 0, at) + 1
        raise error(f"{what} {path}: line {line}: holds NUL bytes ({hint}); save the file as UTF-8")
    if data.startswith(codecs.BOM_UTF8):
        data, encoding = data[len(codecs.BOM_UTF8):], "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding == "utf-16":
            raise error(f"{what} {path}: not valid UTF-16 text ({exc.reason}); save it as UTF-8") from None
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = "it looks like Latin-1, GBK or another legacy encoding"
        raise error(f"{what} {path}: line {line}, column {col}: byte 0x{data[exc.start]:02X} is not "
                    f"UTF-8 text ({hint}); save the file as UTF-8") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise error(f"{what} {path}: line {line}: contains a NUL character")
    return text


# --------------------------------------------------------------------------------------------
class _Limited:
    """Mix-in for a PyYAML loader: depth while composing, expanded size and cycles after,
    duplicate keys while constructing."""

    limits = YamlLimits(max_bytes=1 << 20)

    def compose_node(self, parent, index):
        depth = getattr(self, "_depth", 0) + 1
        if depth > self.limits.max_depth:
            raise ComposerError(None, None, f"nested deeper than {self.limits.max_depth} levels",
                                self.peek_event().start_mark)
        self._depth = depth
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth = depth - 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node, self.limits)
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise ConstructorError(
                        None, None, f"key {key_node.value!r} appears twice in one mapping (first on "
                        f"line {seen[key].line + 1}); YAML would silently keep only the last",
                        key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _check_expansion(root, limits: YamlLimits) -> None:
    """Refuse aliases that expand beyond ``limits`` or refer to an enclosing node (iterative:
    the walk itself must not recurse)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > limits.max_nodes:
                raise ComposerError(None, None, f"its aliases expand to more than {limits.max_nodes:,} "
                                    "values (an alias bomb?)", node.start_mark)
            if depth[key] > limits.max_depth:
                raise ComposerError(None, None, f"its aliases nest deeper than {limits.max_depth} levels",
                                    node.start_mark)
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for c in children:
            if id(c) in on_path:
                raise ComposerError(None, None, "an alias refers to a node that contains it (a "
                                    "recursive alias)", c.start_mark)
            if id(c) not in size:
                stack.append((c, False))


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


class TextLoader(_Limited, yaml.SafeLoader):
    """Safe YAML with limits and without timestamps: ``2026-06-30`` stays a string (params files)."""


TextLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class PlainLoader(_Limited, yaml.SafeLoader):
    """Safe YAML with limits, PyYAML's usual types (codebooks)."""


def _loader(base, limits: YamlLimits):
    return type(base.__name__, (base,), {"limits": limits})


def load_yaml(text: str, source, *, limits: YamlLimits, loader=TextLoader, error=ValueError,
              place_first: bool = False):
    """Parse ``text``; a refusal is ``error("<source>: not valid YAML: line L, column C: problem")``
    (``place_first``: ``"<source>: line L, column C: not valid YAML: problem"``)."""
    try:
        return yaml.load(text, Loader=_loader(loader, limits))  # noqa: S506 - safe subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is None:
            raise error(f"{source}: not valid YAML: {problem}") from None
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        if place_first:
            raise error(f"{source}: {where}: not valid YAML: {problem}") from None
        raise error(f"{source}: not valid YAML: {where}: {problem}") from None
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise error(f"{source}: not valid YAML: nested too deeply") from None


def load_yaml_file(path, *, what: str, limits: YamlLimits, loader=TextLoader, error=ValueError,
                   source: str | None = None, place_first: bool = False):
    """:func:`read_text` then :func:`load_yaml`; ``source`` names the file in messages."""
    text = read_text(path, max_bytes=limits.max_bytes, what=what, error=error)
    return load_yaml(text, source or str(path), limits=limits, loader=loader, error=error,
                     place_first=place_first)
