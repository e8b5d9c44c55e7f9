"""``--query``: a safe row filter — comparisons of columns with literals, combined with and / or / not.

``DataFrame.query`` evaluates Python: ``rt.__class__.__init__.__globals__['sys'].modules['os'].system(...)``
runs a shell command. This module parses the expression with :mod:`ast`, accepts only

* column names (a name must be a column of the table; names starting with ``__`` are refused), and
  ```backtick quoted``` names for columns with spaces, as in pandas;
* literals: numbers, strings, ``True`` / ``False``, and lists / tuples of them on the right of ``in`` / ``not in``;
* comparisons ``== != < <= > >=`` (chains such as ``1 < rt < 5`` included), ``in``, ``not in`` (``== [..]`` and
  ``!= [..]`` mean ``in`` / ``not in``, as in pandas);
* ``and`` / ``or`` / ``not``, pandas' ``&`` / ``|`` (with the precedence of ``and`` / ``or``, as in pandas) and ``~``;
* unary minus / plus on numbers and columns, and parentheses,

and evaluates it itself, column-wise with pandas (no ``eval``, no attribute access, calls, subscripts, lambdas,
comprehensions or arithmetic). Anything else is a one-line :class:`QueryError` naming what is not allowed.
"""

from __future__ import annotations

import ast
import io
import operator
import tokenize

import numpy as np
import pandas as pd

from responserank.errors import QueryError

MAX_LENGTH = 10_000
ALLOWED = (
    "column names, literals (numbers, strings, True/False, lists/tuples after 'in'), comparisons "
    "(==, !=, <, <=, >, >=, in, not in), and/or/not (&, |, ~) and parentheses"
)
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_DESCRIBE = {
    ast.Attribute: "attribute access",
    ast.Call: "function calls",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.BinOp: "arithmetic",
    ast.Starred: "starred expressions",
    ast.NamedExpr: "assignments",
    ast.IfExp: "conditional expressions",
    ast.Dict: "dicts",
    ast.Set: "sets",
    **dict.fromkeys((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp), "comprehensions"),
    ast.JoinedStr: "f-strings",
    ast.Await: "await",
    ast.Yield: "yield",
}
_PLACEHOLDER = "_rr_quoted_column_{}"


def _fail(query: str, problem: str) -> QueryError:
    return QueryError(f"--query {query!r}: {problem}")


def _rewrite(query: str) -> tuple[str, dict[str, str]]:
    """Replace ```quoted names``` by placeholders and pandas' ``&`` / ``|`` by ``and`` / ``or`` (pandas gives them
    boolean precedence, so ``a == 1 & b < 2`` means ``(a == 1) and (b < 2)``); string literals are kept."""
    quoted: dict[str, str] = {}
    out, i = [], 0
    while i < len(query):
        char = query[i]
        if char in "'\"":  # copy a string literal verbatim (backslash escapes included)
            j = i + 1
            while j < len(query) and query[j] != char:
                j += 2 if query[j] == "\\" else 1
            out.append(query[i : j + 1])
            i = j + 1
        elif char == "`":
            j = query.find("`", i + 1)
            if j < 0:
                raise SyntaxError("unterminated `quoted` column name")
            name = _PLACEHOLDER.format(len(quoted))
            quoted[name] = query[i + 1 : j]
            out.append(f" {name} ")
            i = j + 1
        else:
            out.append(char)
            i += 1
    text = "".join(out)
    tokens = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.OP and token.string in ("&", "|"):
            token = token._replace(string=" and " if token.string == "&" else " or ")
        tokens.append((token.type, token.string))
    return tokenize.untokenize(tokens), quoted


def parse_query(query: str, columns) -> tuple[ast.Expression, dict[str, str]]:
    """Parse and check ``query`` against the table's ``columns``; returns the tree and the placeholder → column
    map of backtick-quoted names. Raises :class:`QueryError` for anything outside the allowed language."""
    if len(query) > MAX_LENGTH:
        raise _fail(query[:60] + "...", f"longer than {MAX_LENGTH} characters")
    try:
        text, quoted = _rewrite(query)
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, tokenize.TokenError, RecursionError, MemoryError) as error:
        detail = getattr(error, "msg", None) or str(error) or type(error).__name__
        raise _fail(query, f"not a valid expression ({detail}); allowed: {ALLOWED}") from None
    names = [str(column) for column in columns]
    known = set(names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            name = quoted.get(node.id, node.id)
            if node.id not in quoted and node.id.startswith("__"):
                raise _fail(
                    query, f"names starting with '__' are not allowed ({node.id}); allowed: {ALLOWED}"
                )
            if name not in known:
                shown = ", ".join(map(repr, names[:30])) + (", ..." if len(names) > 30 else "")
                raise _fail(query, f"{name!r} is not a column of the table (columns: {shown})")
        elif type(node) in _DESCRIBE:
            what = _DESCRIBE[type(node)]
            if isinstance(node, ast.Attribute):
                what += f" (.{node.attr})"
            raise _fail(query, f"{what} not allowed; allowed: {ALLOWED}")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float | str | bool):
                raise _fail(query, f"literal {node.value!r} not allowed; allowed: {ALLOWED}")
        elif isinstance(node, ast.UnaryOp) and not isinstance(
            node.op, ast.Not | ast.USub | ast.UAdd | ast.Invert
        ):
            raise _fail(query, f"operator {type(node.op).__name__} not allowed; allowed: {ALLOWED}")
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn) or isinstance(right, ast.List | ast.Tuple):
                    if isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE):
                        raise _fail(query, "a list or tuple can only follow ==, !=, in or not in")
                    if not isinstance(right, ast.List | ast.Tuple) or not all(
                        _is_literal(element) for element in right.elts
                    ):
                        raise _fail(query, "'in' / 'not in' need a list or tuple of literals on the right")
                elif type(op) not in _COMPARE:
                    raise _fail(query, f"comparison {type(op).__name__} not allowed; allowed: {ALLOWED}")
        elif isinstance(node, ast.List | ast.Tuple):
            pass  # checked with their 'in'; anywhere else they fail at evaluation
        elif not isinstance(
            node,
            ast.Expression | ast.BoolOp | ast.And | ast.Or | ast.UnaryOp | ast.Compare | ast.Load | ast.Not
            | ast.USub | ast.UAdd | ast.Invert | ast.cmpop,
        ):  # fmt: skip
            raise _fail(query, f"{type(node).__name__} not allowed; allowed: {ALLOWED}")
    return tree, quoted


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bool)


def _literal_list(node: ast.List | ast.Tuple) -> list:
    return [ast.literal_eval(element) for element in node.elts]


class _Evaluator:
    def __init__(self, frame: pd.DataFrame, quoted: dict[str, str]):
        self.frame, self.quoted = frame, quoted

    def __call__(self, node: ast.AST):
        if isinstance(node, ast.Expression):
            return self(node.body)
        if isinstance(node, ast.Name):
            return self.frame[self.quoted.get(node.id, node.id)]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp):
            value = self(node.operand)
            if isinstance(node.op, ast.Not):
                return ~_as_mask(value, "not")
            if isinstance(node.op, ast.Invert):
                return ~value if isinstance(value, pd.Series) else ~_as_mask(value, "~")
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.BoolOp):
            masks = [_as_mask(self(value), "and/or") for value in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            result = masks[0]
            for mask in masks[1:]:
                result = combine(result, mask)
            return result
        if isinstance(node, ast.Compare):
            result, left = None, self(node.left)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                if isinstance(right_node, ast.List | ast.Tuple):  # in, not in; == / != a list as in pandas
                    values = _literal_list(right_node)
                    part = left.isin(values) if isinstance(left, pd.Series) else left in values
                    part = ~part if isinstance(op, ast.NotIn | ast.NotEq) else part
                    right = None
                else:
                    right = self(right_node)
                    part = _COMPARE[type(op)](left, right)
                part = _as_mask(part, "comparison")
                result = part if result is None else np.logical_and(result, part)
                left = right
            return result
        raise TypeError(f"{type(node).__name__} cannot be evaluated")


def _as_mask(value, where: str):
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, pd.Series) and pd.api.types.is_bool_dtype(value):
        return value.to_numpy(dtype=bool)
    if isinstance(value, np.ndarray) and value.dtype == bool:
        return value
    raise TypeError(f"{where} needs true/false values, got {getattr(value, 'dtype', type(value).__name__)}")


def query_rows(frame: pd.DataFrame, query: str) -> pd.DataFrame:
    """The rows of ``frame`` where the safe ``query`` is true (index labels kept)."""
    tree, quoted = parse_query(query, frame.columns)
    try:
        mask = _as_mask(_Evaluator(frame, quoted)(tree), "the expression")
    except (TypeError, ValueError) as error:
        raise _fail(query, f"cannot be evaluated on the table ({' '.join(str(error).split())})") from None
    if isinstance(mask, bool):
        mask = np.full(len(frame), mask)
    return frame[mask]
