"""The fast path for simple inline formulas gives pylatexenc's text, and leaves everything else to it."""

from __future__ import annotations

import re

import pytest

from broadsheet.papers.math import _fast_formula_text, _pylatexenc_text, latex_to_text

SPACES = re.compile(r"\s+")

TAKEN = [
    "$k$",
    "$O(n^2)$",
    "$\\sim 10^{-3}$",
    "$M_{\\odot}$",
    "$\\rho \\approx 0.88$",
    "$T \\approx 0.9$",
    "$\\log \\log n$",
    "$\\Delta \\text{AIC}$",
    "$\\langle z \\rangle = 6.25$",
    "$3 \\times 10^{14}$",
    "$\\alpha\\beta$",
    "$x_i \\leq y$",
    "$M_{\\rm BH}$",  # old font switches
    "$10^{5}\\,M_\\odot$",  # spacing escapes
    "$50\\%$",
    "$\\{x\\}$",
    "$\\frac{a}{b}$",  # macros with simple arguments
    "$\\sqrt{2}$",
    "$\\hat{B}$",
    "$\\mathcal{O}(n)$",
    "$\\mathbb{R}^n$",
    "$0.3~h^{-1}$",  # ligatures
    "$11.45''$",
    "$3'' \\times 3''$",
    "$1--2$",
    "${{a}}$",  # nested groups
    "$10^{11}~{\\rm M_{\\odot}}$",
    "$\\textbf{three reasoning steps}$",  # a wrapper of several words
    "$M_{\\rm BH} \\sim 10^{8}$",  # a space between a group and a macro is dropped
    "$L_{\\rm bol} \\sim 10^{46} \\, \\mathrm{erg \\, s^{-1}}$",
    "${a} \\, b$",
    "$1.5 \\text{--} 2$",
]

REFUSED = [
    "$\\dot M$",  # an argument without braces
    "$\\sqrt{a+b}$",  # an argument of more than one word
    "${\\sigma }_{8}$",  # a space before a brace
    "$128{ \\times }128$",
    "$\\unknownmacro x$",
    "$\\leqλ$",
    "$\\mbox{ab}$",  # kept as written by pylatexenc
    "$a`b$",
    "$$x$$",  # display math
    "\\(x\\)",
    "$",
]


@pytest.mark.parametrize("formula", TAKEN)
def test_simple_formulas_come_out_as_pylatexenc_has_them(formula: str) -> None:
    fast = _fast_formula_text(formula)
    assert fast is not None
    assert SPACES.sub(" ", fast).strip() == SPACES.sub(" ", _pylatexenc_text(formula)).strip()


@pytest.mark.parametrize("formula", REFUSED)
def test_other_formulas_are_left_to_pylatexenc(formula: str) -> None:
    assert _fast_formula_text(formula) is None


def test_abstracts_mixing_both_kinds() -> None:
    text = "We reach $\\sim 10^{-3}$ error with $\\mathcal{O}(n)$ cost and $\\frac{1}{2}$ of $k$ steps."
    assert latex_to_text(text) == "We reach ∼ 10^-3 error with 𝒪(n) cost and 1/2 of k steps."
