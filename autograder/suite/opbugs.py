"""What the classic mistakes in one operator's derivative return, for the one-operator autodiff tests.

An expression of expressions.OPERATORS applies one operator to its inputs, so the derivative a
buggy operator returns has a closed form in the operands a, b and their derivatives a', b'
(the seeds: 1 for the input differentiated, 0 for the other and for numbers). The same values
come out of forward mode (Dual) and reverse mode (Var, where a' and b' are the partials the
output's gradient flows to): `suspects(expr, i, cls)` gives {diagnosis: value} for partial i,
to pass to Report.scalar, which names the diagnosis when the student's value matches it.
"""

import math

PRODUCT = "the product rule is (a·b)' = a'·b + a·b'"
QUOTIENT = "the quotient rule is (a/b)' = (a'·b − a·b')/b²"
POWER = "the power rule is (a^p)' = p·a^(p−1)·a'"

# operator symbol -> [(mistake, derivative it gives from a, b, a', b')]
BINARY = {
    "+": [("passes on only the left operand's derivative; (a + b)' = a' + b'",
           lambda a, b, da, db: da),
          ("passes on only the right operand's derivative; (a + b)' = a' + b'",
           lambda a, b, da, db: db)],
    "-": [("adds b' instead of subtracting it; (a − b)' = a' − b'", lambda a, b, da, db: da + db),
          ("drops b'; (a − b)' = a' − b'", lambda a, b, da, db: da)],
    "*": [("drops the a·b' term; " + PRODUCT, lambda a, b, da, db: da * b),
          ("drops the a'·b term; " + PRODUCT, lambda a, b, da, db: a * db),
          ("multiplies the derivatives (a'·b'); " + PRODUCT, lambda a, b, da, db: da * db)],
    "/": [("adds the two terms; " + QUOTIENT, lambda a, b, da, db: (da * b + a * db) / b ** 2),
          ("divides by b instead of b²; " + QUOTIENT, lambda a, b, da, db: (da * b - a * db) / b),
          ("drops the −a·b'/b² term; " + QUOTIENT, lambda a, b, da, db: da / b),
          ("divides the derivatives (a'/b'); " + QUOTIENT,
           lambda a, b, da, db: da / db if db else math.nan)],
    "**": [("uses p·a^p; " + POWER, lambda a, p, da, dp: p * a ** p * da),
           ("leaves out the factor p; " + POWER, lambda a, p, da, dp: a ** (p - 1) * da),
           ("uses p·a^(p+1); " + POWER, lambda a, p, da, dp: p * a ** (p + 1) * da)],
}
UNARY = {
    "-": [("keeps the derivative's sign; (−a)' = −a'", lambda a, da: da)],
    "sin": [("uses −cos; (sin u)' = cos(u)·u'", lambda a, da: -math.cos(a) * da),
            ("uses sin itself; (sin u)' = cos(u)·u'", lambda a, da: math.sin(a) * da)],
    "cos": [("uses cos itself; (cos u)' = −sin(u)·u'", lambda a, da: math.cos(a) * da),
            ("uses −cos; (cos u)' = −sin(u)·u'", lambda a, da: -math.cos(a) * da)],
    "exp": [("multiplies by u; (exp u)' = exp(u)·u'", lambda a, da: a * math.exp(a) * da),
            ("gives 1; (exp u)' = exp(u)·u'", lambda a, da: da)],
    "log": [("uses log itself; (log u)' = u'/u", lambda a, da: math.log(a) * da),
            ("uses −u'/u² (the derivative of 1/u); (log u)' = u'/u", lambda a, da: -da / a ** 2),
            ("uses u'/u²; (log u)' = u'/u", lambda a, da: da / a ** 2)],
}


def _operands(name, point, i):
    """(symbol, [(value, seed), ...]) of a one-operator expression's name ("x * y", "2 - x",
    "-x", "sin(x)", "x ** 3") at `point`, differentiated in input i; None if not one of them."""
    inputs = {"x": point[0], "y": point[1] if len(point) > 1 else None}
    seeds = {"x": float(i == 0), "y": float(i == 1)}

    def operand(token):
        if token in inputs:
            return inputs[token], seeds[token]
        return float(token), 0.0
    parts = name.split()
    if len(parts) == 3 and parts[1] in BINARY:
        return parts[1], [operand(parts[0]), operand(parts[2])]
    if name.startswith("-") and name[1:] in inputs:
        return "-", [operand(name[1:])]
    for fn in ("sin", "cos", "exp", "log"):
        if name == f"{fn}(x)":
            return fn, [operand("x")]
    return None


def suspects(expr, i, cls):
    """{"Likely cause" text: partial i} for a one-operator expression (cls: "Dual" or "Var");
    mistakes that give the same value are named together. {} for other expressions."""
    found = _operands(expr.name, expr.point, i)
    if found is None:
        return {}
    symbol, operands = found
    where = (f"{cls}.{expr.note.split()[0]}" if expr.note.startswith("__")
             else f"{symbol}() on a {cls}")
    rules = BINARY[symbol] if len(operands) == 2 else UNARY[symbol]
    by_value: dict[float, list[str]] = {}
    for mistake, rule in rules:
        try:
            value = float(rule(*(v for v, _ in operands), *(s for _, s in operands)))
        except (ArithmeticError, ValueError):
            continue
        if math.isfinite(value):
            by_value.setdefault(value, []).append(mistake)
    out = {}
    for value, mistakes in by_value.items():   # "what it does; what it should do"
        what = [m.split("; ")[0] for m in mistakes]
        out[f"{where} {' or '.join(dict.fromkeys(what))}; {mistakes[0].split('; ')[1]}"] = value
    return out
