"""LaTeX to MathML HTML and to plain text: literal output for formulas, fallbacks, and the allowlist."""

from __future__ import annotations

import re

import pytest

from broadsheet.papers.math import (
    MATHML_ATTRIBUTES,
    MATHML_TAGS,
    convert_formula,
    latex_to_text,
    render_math,
    render_text,
    sanitize_mathml,
)


def inline(body: str) -> str:
    return f'<math display="inline"><mrow>{body}</mrow></math>'


def block(body: str) -> str:
    return f'<math display="block"><mrow>{body}</mrow></math>'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"$x^2$", '<math display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math>'),
        (r"$\alpha$-divergence", '<math display="inline"><mrow><mi>α</mi></mrow></math>-divergence'),
        (r"$$\frac{1}{2}$$", block("<mfrac><mrow><mn>1</mn></mrow><mrow><mn>2</mn></mrow></mfrac>")),
        (r"\(a_i\)", '<math display="inline"><mrow><msub><mi>a</mi><mi>i</mi></msub></mrow></math>'),
        (r"\[\sqrt{x}\]", '<math display="block"><mrow><msqrt><mrow><mi>x</mi></mrow></msqrt></mrow></math>'),
        (r"$\mathbb{R}^n$", '<math display="inline"><mrow><msup><mi>ℝ</mi><mi>n</mi></msup></mrow></math>'),
        # latex2mathml writes `<` as a numeric reference; it must come out escaped exactly once
        (r"$a<b$", '<math display="inline"><mrow><mi>a</mi><mo>&lt;</mo><mi>b</mi></mrow></math>'),
        (r"$\text{a & b}$", '<math display="inline"><mrow><mtext>a&nbsp;&amp;&nbsp;b</mtext></mrow></math>'),
        ("Plain & simple <3", "Plain &amp; simple &lt;3"),
    ],
)
def test_render_math_writes_mathml_for_each_delimiter(text: str, expected: str) -> None:
    assert render_math(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # latex2mathml refuses a superscript with nothing after it: the source is shown, escaped
        (r"$x^$ broken", "$x^$ broken"),
        (r"$x^$ <b>", "$x^$ &lt;b&gt;"),
        # a lone dollar opens nothing
        (r"costs $5 in total", "costs $5 in total"),
        # an escaped dollar is a dollar, not a delimiter
        (r"costs \$5 and \$10", "costs $5 and $10"),
        ("$$", "$$"),
        ("$ $", "$ $"),
    ],
)
def test_render_math_falls_back_to_escaped_source(text: str, expected: str) -> None:
    assert render_math(text) == expected


def test_render_math_shows_source_when_nesting_is_too_deep_to_convert() -> None:
    deep = "$" + "{" * 3000 + "x" + "}" * 3000 + "$"
    assert render_math(deep) == deep


def test_convert_formula_returns_none_for_what_latex2mathml_rejects() -> None:
    assert convert_formula("x^", display=False) is None
    assert convert_formula("x^2", display=False) == (
        '<math display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math>'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # HTML typed inside \text{} is shown as text, not parsed
        (
            r"$\text{<script>alert(1)</script>}$",
            '<math display="inline"><mrow><mtext>&lt;script&gt;alert(1)&lt;/script&gt;</mtext></mrow></math>',
        ),
        # numeric references typed by the author are not a way around the escaping
        (r"$\text{&#x3C;b&#x3E;}$", '<math display="inline"><mrow><mtext>&lt;b&gt;</mtext></mrow></math>'),
        # latex2mathml turns \href into an href attribute; the allowlist drops it
        (r"$\href{javascript:alert(1)}{x}$", inline("<mrow><mrow><mi>x</mi></mrow></mrow>")),
        # \color becomes mathcolor, which is not on the allowlist
        (r"$\color{red}{x}$", inline("<mstyle><mrow><mi>x</mi></mrow></mstyle>")),
        # raw HTML in an abstract is text
        ('"><img src=x onerror=alert(1)>', '"&gt;&lt;img src=x onerror=alert(1)&gt;'),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("{{7*7}}", "{{7*7}}"),
    ],
)
def test_render_math_output_is_inert(text: str, expected: str) -> None:
    assert render_math(text) == expected


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<math><mtext><script>alert(1)</script></mtext></math>", "<math><mtext></mtext></math>"),
        ('<math><mi onclick="x" style="c:r" href="javascript:0">a</mi></math>', "<math><mi>a</mi></math>"),
        ("<math><mtext><img src=x onerror=alert(1)></mtext></math>", "<math><mtext></mtext></math>"),
        ("<style>body{}</style><math><mi>a</mi></math>", "<math><mi>a</mi></math>"),
        ('<a href="javascript:x()">link</a><!-- note -->', "link"),
        ('<math display="block" mathcolor="red">1</math>', '<math display="block">1</math>'),
    ],
)
def test_sanitize_mathml_keeps_only_mathml(markup: str, expected: str) -> None:
    assert sanitize_mathml(markup) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"Schr\"odinger", "Schrödinger"),
        (r"Karhunen-Lo\`eve", "Karhunen-Loève"),
        (r"G{\"o}del", "Gödel"),
        (r"Fran\c{c}ois", "François"),
        (r"na\"{\i}ve", "naïve"),
        (r"\textbf{V}ideo \emph{super} resolution", "Video super resolution"),
        (r"D\&D at 50\% and \#1", "D&D at 50% and #1"),
        (r"code at \url{https://example.org/a_b}", "code at https://example.org/a_b"),
        (r"\href{https://example.org/x}{GitHub}", "GitHub (https://example.org/x)"),
        # unknown macros and math are left as written
        (r"the \rat layer and $x^2$", r"the \rat layer and $x^2$"),
    ],
)
def test_render_text_applies_text_mode_conveniences(text: str, expected: str) -> None:
    assert render_text(text) == expected


def test_render_math_applies_text_mode_conveniences_around_formulas() -> None:
    assert render_math(r"Schr\"odinger bridges with $x$ at 50\%") == (
        'Schrödinger bridges with <math display="inline"><mrow><mi>x</mi></mrow></math> at 50%'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"$\gamma$-Quant", "γ-Quant"),
        (r"$\frac{a}{b}$ and $\sqrt{2}$ in $\mathbb{R}^n$", "a/b and √(2) in ℝ^n"),
        # a percent sign is not a comment, a tilde is "about", an ampersand is an ampersand
        ("cuts 31.7% of ~1000 GPU hours & more", "cuts 31.7% of ~1000 GPU hours & more"),
        (r"$50\%$ of $a & b$", "50% of a & b"),
        (r"Schr\"odinger", "Schrödinger"),
        ("line\n  breaks   collapse", "line breaks collapse"),
        (r"the \rat layer", r"the \rat layer"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        (r"$x^$ broken", "x^ broken"),
        ("", ""),
    ],
)
def test_latex_to_text_gives_plain_unicode(text: str, expected: str) -> None:
    assert latex_to_text(text) == expected


def test_render_math_never_emits_markup_outside_the_allowlist(hostile_string: str) -> None:
    rendered = render_math(hostile_string)
    # text is escaped, so every "<" left opens a real tag
    opened = re.findall(r"<(/?)([^\s/>]+)([^>]*)>", rendered)
    tags = {name for _, name, _ in opened}
    attributes = {attribute for _, _, rest in opened for attribute in re.findall(r"([^\s=]+)=", rest)}
    assert rendered.count("<") == len(opened)
    assert tags <= MATHML_TAGS
    assert attributes <= set(MATHML_ATTRIBUTES["*"]) | MATHML_ATTRIBUTES["math"]
    assert latex_to_text(hostile_string) == latex_to_text(hostile_string).strip()
