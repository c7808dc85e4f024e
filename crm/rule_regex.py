"""Target rules whose regular expressions run on RE2: matching time linear in the text.

rule-engine compiles the right operand of ``=~ =~~ !~ !~~`` with Python's ``re``, a backtracking
engine: ``name =~ "(a+)+$"`` against 27 × "a" + "!" takes seconds, doubling per character. The
engine has no setting for this, but it is built to be extended: ``Rule.parser`` is the parser a
rule class uses, and the parser builds each operator's node from a class named in its grammar
action. :class:`LinearTimeRule` uses a parser whose fuzzy-comparison action builds
:class:`Re2Comparison`, which compiles its pattern with RE2 (google-re2) instead. A pattern
written in the rule is compiled when the rule is, so what RE2 refuses (back-references,
look-arounds) is refused when the campaign is saved; a pattern read from a field is compiled
with RE2 at evaluation. docs/crm-rules.md says why this way.
"""

from __future__ import annotations

from typing import Any

import re2
import rule_engine
from rule_engine.ast import FuzzyComparisonExpression
from rule_engine.parser import Parser, _DeferredAstNode

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is the analyst's error, reported to them, not to stderr


class Re2Comparison(FuzzyComparisonExpression):
    """``=~`` and its siblings, matching with RE2."""

    def _compile_regex(self, regex: str) -> Any:
        try:
            return re2.compile(regex, _OPTIONS)
        except re2.error as error:
            raise rule_engine.errors.RegexSyntaxError(
                f"invalid regular expression (RE2: {_why(error)})", error=error, value=regex
            ) from None


class Re2Parser(Parser):
    # The grammar's start symbol is taken from the first action in source order unless named;
    # the action overridden below sits earlier in this file than ``p_statement_expr`` does.
    start = "statement"

    def p_expression_fuzzy_comparison(self, p: Any) -> None:
        """
        expression : expression EQ_FZM expression
                           | expression EQ_FZS expression
                           | expression NE_FZM expression
                           | expression NE_FZS expression
        """
        left, op, right = p[1:4]
        p[0] = _DeferredAstNode(Re2Comparison, args=(self.context, self.op_names[op], left, right))


class LinearTimeRule(rule_engine.Rule):
    parser = Re2Parser()


def _why(error: Exception) -> str:
    reason = error.args[0] if error.args else error
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
