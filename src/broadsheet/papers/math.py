"""Titles and abstracts for display: LaTeX math as MathML HTML, or LaTeX as plain Unicode text.

Rule: `render_math` output always passes through an nh3 allowlist of MathML elements and attributes,
so no input, however hostile, yields a script, a style, a link or an event handler; a formula that
cannot be converted is shown as its escaped source, never an error.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from functools import lru_cache
from xml.etree.ElementTree import Element, tostring

import nh3
from latex2mathml.converter import convert_to_element
from pylatexenc.latex2text import LatexNodes2Text

# What latex2mathml emits, minus colour (mathcolor/mathbackground: a quiet page, and one less way
# for an abstract to restyle the site) and minus anything that can carry a URL or script (href, style).
MATHML_TAGS = frozenset({
    "math", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mfrac", "msqrt", "mroot", "mstyle",
    "merror", "mpadded", "mphantom", "menclose", "msub", "msup", "msubsup", "munder", "mover",
    "munderover", "mmultiscripts", "mprescripts", "none", "mtable", "mtr", "mtd", "semantics",
})
MATHML_ATTRIBUTES: dict[str, set[str]] = {
    "*": {
        "mathvariant", "displaystyle", "scriptlevel", "mathsize", "stretchy", "fence", "form",
        "separator", "lspace", "rspace", "minsize", "maxsize", "movablelimits", "accent", "accentunder",
        "width", "height", "depth", "voffset", "linethickness", "notation", "columnalign", "columnlines",
        "columnspacing", "rowalign", "rowlines", "rowspacing", "columnspan", "rowspan", "frame",
    },
    "math": {"display"},
}

# One pass over the text finds, left to right: display math ($$..$$, \[..\]), inline math
# (\(..\), $..$), escaped specials (\$ \% ...), accents (\"o, {\'e}), text-style wrappers
# (\emph{..}) and \url / \href. Anything else is text, shown exactly as written.
TOKEN = re.compile(
    r"""
      \$\$(?P<display>.+?)\$\$
    | \\\[(?P<display_bracket>.+?)\\\]
    | \\\((?P<inline_paren>.+?)\\\)
    | \$(?P<inline>(?:[^$\\]|\\.)+?)\$
    | \\(?P<special>[$%&_\#{}])
    | \{?\\(?P<accent>["'`^~=.]|[cvuH](?=\{))\s*\{?(?P<accent_base>[A-Za-z]|\\[ij](?![A-Za-z]))\}?\}?
    | \\(?:emph|textbf|textit|texttt|textsc|textrm|textsf|textup|textnormal|textsl)\{(?P<styled>[^{}$]*)\}
    | \\url\{(?P<url>[^{}\s]*)\}
    | \\href\{(?P<href>[^{}\s]*)\}\{(?P<href_text>[^{}$]*)\}
    """,
    re.S | re.X,
)
ACCENT_MARKS = {
    '"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b",
}
# TeX accents \i and \j only because a dot would clash with the accent; Unicode composes i + mark
DOTLESS = {"\\i": "i", "\\j": "j"}
# latex2mathml writes characters as numeric references inside element text (`&#x0003C;`) and
# leaves `<` and `&` typed in \text{} raw; decoding the references and letting ElementTree
# serialise the tree escapes both correctly.
NUMERIC_REFERENCE = re.compile(r"&#(?:x([0-9a-fA-F]+)|([0-9]+));")
MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
RENDER_CACHE_SIZE = 4096


def sanitize_mathml(markup: str) -> str:
    """`markup` with every element, attribute and comment outside the MathML allowlist removed
    (script and style with their content)."""
    return nh3.clean(markup, tags=set(MATHML_TAGS), attributes=MATHML_ATTRIBUTES, strip_comments=True)


def _decode_reference(match: re.Match[str]) -> str:
    number = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    try:
        return chr(number)
    except (ValueError, OverflowError):
        return "\ufffd"


def _decode_references(text: str | None) -> str | None:
    return NUMERIC_REFERENCE.sub(_decode_reference, text) if text else text


def convert_formula(latex: str, *, display: bool) -> str | None:
    """MathML for one formula (without delimiters), or None when latex2mathml cannot convert it."""
    try:
        root: Element = convert_to_element(latex, display="block" if display else "inline")
    except Exception:  # latex2mathml raises a zoo of errors (and RecursionError on deep nesting)
        return None
    root.attrib.pop("xmlns", None)  # the HTML parser puts <math> in the MathML namespace by itself
    for element in root.iter():
        element.text = _decode_references(element.text)
        element.tail = _decode_references(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = _decode_references(value) or ""
    return tostring(root, encoding="unicode", short_empty_elements=False)


def _render_text_token(match: re.Match[str]) -> str:
    """Plain text for the text-mode tokens: escapes, accents, style wrappers and links."""
    group = match.lastgroup
    if group == "special":
        return match.group("special")
    if group in ("accent", "accent_base"):
        base = match.group("accent_base")
        base = DOTLESS.get(base, base)
        return unicodedata.normalize("NFC", base + ACCENT_MARKS[match.group("accent")])
    if group == "styled":
        return render_text(match.group("styled"))
    if group == "url":
        return match.group("url")
    if group in ("href", "href_text"):
        return f"{render_text(match.group('href_text'))} ({match.group('href')})"
    return match.group(0)


def render_text(text: str) -> str:
    """Text-mode LaTeX conveniences (`\\%`, `\\"o`, `\\emph{..}`) as plain text; math left as written."""
    out: list[str] = []
    position = 0
    for match in TOKEN.finditer(text):
        if match.lastgroup in ("display", "display_bracket", "inline_paren", "inline"):
            continue
        out.append(text[position:match.start()])
        out.append(_render_text_token(match))
        position = match.end()
    out.append(text[position:])
    return "".join(out)


# Keyed by the text itself, in-process: the text is the content (a paper's content_hash changes
# exactly when its title or abstract does), so an entry can never be stale; there is nothing to
# pickle as Django's LocMem cache would, and its default 300-entry cap would not hold one day's
# listing. 4096 entries of a few kB each bound the memory to tens of MB per process.
@lru_cache(maxsize=RENDER_CACHE_SIZE)
def render_math(text: str) -> str:
    """`text` as HTML: formulas as MathML, everything else escaped; safe to mark_safe."""
    out: list[str] = []
    position = 0
    for match in TOKEN.finditer(text):
        out.append(html.escape(text[position:match.start()], quote=False))
        group = match.lastgroup
        if group in ("display", "display_bracket", "inline_paren", "inline"):
            formula = match.group(group)
            converted = None
            if formula.strip():
                converted = convert_formula(formula, display=group.startswith("display"))
            out.append(converted if converted is not None else html.escape(match.group(0), quote=False))
        else:
            out.append(html.escape(_render_text_token(match), quote=False))
        position = match.end()
    out.append(html.escape(text[position:], quote=False))
    return sanitize_mathml("".join(out))


OLD_FONT_SWITCHES = frozenset({"rm", "it", "bf", "sf", "tt", "cal", "sl", "sc"})


class _TextKeepingUnknownMacros(LatexNodes2Text):
    """pylatexenc drops macros it does not know (`\\rat` -> ``); keep their source instead."""

    def macro_node_to_text(self, node):  # type: ignore[no-untyped-def]
        if node.macroname in OLD_FONT_SWITCHES:
            return ""
        if self.latex_context.get_macro_spec(node.macroname) is None:
            return node.latex_verbatim()
        return super().macro_node_to_text(node)


# Inside a formula `%` would start a comment that eats the rest of the text; abstracts mean a percentage.
UNESCAPED_PERCENT_OR_AMPERSAND = re.compile(r"(?<!\\)[%&]")
SPACES = re.compile(r"\s+")


_converters = threading.local()


def _converter() -> _TextKeepingUnknownMacros:
    """One converter per thread: building one loads pylatexenc's macro tables (~1 ms each time)."""
    converter = getattr(_converters, "converter", None)
    if converter is None:
        converter = _converters.converter = _TextKeepingUnknownMacros(math_mode="text")
    return converter


# The inline formulas most abstracts hold (`$\sim 10^{-3}$`, `$M_{\rm BH}$`, `$\mathcal{L}$`, `$k$`) are
# converted here without pylatexenc's parser (~0.4 ms a formula; a search page's snippets had a dozen):
# letters, digits, operators, sub/superscripts, braces, \mathrm-like wrappers, old font
# switches, spacing escapes, and macros, each as pylatexenc renders it (asked of pylatexenc once and
# remembered: a symbol alone, or a macro with its simple braced arguments, `\hat{x}`, `\frac{1}{2}`).
# Anything else (a space before a brace, a macro argument holding more than one word, an unknown macro) goes
# to pylatexenc whole. The two agree on every formula of the 91,828-paper corpus this path takes
# (bench/latex_fast_path.py).
_FAST_PIECE = re.compile(
    r"\\(?P<name>[^\W\d_]+)(?P<arguments>(?:\{[^\W_]+\})*)|\\(?P<escaped>.)|(?P<brace>[{}])|(?P<space>\s+)"
    r"|(?P<text>[^\\{}\s]+)",
    re.S,
)
_FAST_REFUSED = ("$", "`")
_FAST_WRAPPERS = frozenset({"mathrm", "text", "textrm", "textnormal", "textbf", "textit"})
# what pylatexenc makes of these escapes inside a formula
_FAST_ESCAPES = {
    ",": " ", ";": " ", ":": " ", " ": " ", "!": "",
    "%": "%", "&": "&", "_": "_", "#": "#", "{": "{", "}": "}",
}
# TeX ligatures pylatexenc applies to text, longest first
_FAST_LIGATURES = (("---", "\u2014"), ("--", "\u2013"), ("''", "\u201d"), ("~", "\u00a0"))


@lru_cache(maxsize=4096)
def _symbol_text(name: str) -> str | None:
    """What pylatexenc makes of macro `name` alone, if it is a symbol taking no argument."""
    spec = _converter().latex_context.get_macro_spec(name)
    replacement = getattr(spec, "simplify_repl", None)
    if not isinstance(replacement, str) or "%" in replacement:
        return None  # unknown, or a function of its arguments
    alone = _pylatexenc_text("$\\" + name + "$")
    if not alone.strip() or "$" in alone or "\\" in alone:
        return None
    if _pylatexenc_text("$a\\" + name + "{b}$") != "a" + alone + "b":
        return None  # it took the braces as an argument
    return alone


@lru_cache(maxsize=16384)
def _macro_call_text(call: str) -> str | None:
    """What pylatexenc makes of a macro with simple braced arguments (`\\hat{x}`, `\\frac{1}{2}`)."""
    name = call[1:].split("{", 1)[0]
    if name in OLD_FONT_SWITCHES or _converter().latex_context.get_macro_spec(name) is None:
        return None
    text = _pylatexenc_text("$" + call + "$")
    if not text.strip() or "\\" in text or "{" in text or "$" in text:
        return None
    return text


def _fast_formula_text(source: str) -> str | None:
    """An inline formula as pylatexenc renders it, or None where this path does not apply."""
    if len(source) < 2 or not source.startswith("$") or not source.endswith("$") or source.startswith("$$"):
        return None
    inner = source[1:-1]
    if any(refused in inner for refused in _FAST_REFUSED):
        return None
    out: list[str] = []
    previous = "text"  # what the last piece was: text, space, brace, macro
    before_space = "text"  # what came before the last space
    depth = 0
    for match in _FAST_PIECE.finditer(inner):
        name, arguments, escaped, brace, space, text = match.group(
            "name", "arguments", "escaped", "brace", "space", "text"
        )
        if name:
            # pylatexenc drops a space between two macros, and between a group and a macro
            if previous == "space" and before_space in ("macro", "brace"):
                out.pop()
            if name in OLD_FONT_SWITCHES and not arguments:
                rendered: str | None = ""
            elif name in _FAST_WRAPPERS and not arguments and inner.startswith("{", match.end()):
                rendered = ""  # a wrapper of several words: its group is read as any group
            elif name in _FAST_WRAPPERS and arguments and arguments.count("{") == 1:
                rendered = arguments[1:-1]
            elif arguments:
                rendered = _macro_call_text(match.group(0))
            else:
                rendered = _symbol_text(name)
            if rendered is None:
                return None
            out.append(rendered)
            previous = "macro"
        elif escaped is not None:
            if escaped not in _FAST_ESCAPES:
                return None
            if previous == "space" and before_space in ("macro", "brace"):
                out.pop()
            out.append(_FAST_ESCAPES[escaped])
            previous = "macro"
        elif brace:
            depth += 1 if brace == "{" else -1
            if depth < 0 or previous == "space":
                return None  # a space before a group follows rules of its own
            previous = "brace"
        elif space:
            out.append(" ")
            before_space, previous = previous, "space"
        else:
            # a ligature is a node of its own to pylatexenc: a space after it goes before a macro
            previous = "macro" if text.endswith(tuple(pair[0] for pair in _FAST_LIGATURES)) else "text"
            for ligature, replacement in _FAST_LIGATURES:
                text = text.replace(ligature, replacement)
            out.append(text)
    return "".join(out) if depth == 0 else None


def _pylatexenc_text(source: str) -> str:
    try:
        return _converter().latex_to_text(UNESCAPED_PERCENT_OR_AMPERSAND.sub(r"\\\g<0>", source))
    except Exception:  # pylatexenc's tolerant parser still raises on some malformed arguments
        return source


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def _formula_to_text(source: str) -> str:
    fast = _fast_formula_text(source)
    return fast if fast is not None else _pylatexenc_text(source)


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def latex_to_text(text: str) -> str:
    """LaTeX as plain Unicode text for emails, feeds, `<title>` and meta descriptions
    (`$\\gamma$-Quant` -> `γ-Quant`), whitespace collapsed.

    Only formulas go through pylatexenc (it reads ~20 µs per character, too slow for whole abstracts);
    the text between them gets the same conveniences as on the page (`\\%`, accents, `\\emph{..}`),
    so `~1000` stays "about 1000" and `50%` is not a comment.
    """
    out: list[str] = []
    position = 0
    for match in TOKEN.finditer(text):
        out.append(text[position:match.start()])
        if match.lastgroup in ("display", "display_bracket", "inline_paren", "inline"):
            out.append(_formula_to_text(match.group(0)))
        else:
            out.append(_render_text_token(match))
        position = match.end()
    out.append(text[position:])
    return SPACES.sub(" ", "".join(out)).strip()
