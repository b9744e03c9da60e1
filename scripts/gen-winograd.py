#!/usr/bin/env python3
"""Writes engine/winograd_transforms.h: the Winograd (Cook–Toom) transforms
of F(m, r) for the convolutions conv_winograd.c runs, as straight-line vector
code with only the non-zero terms.

    python3 scripts/gen-winograd.py > engine/winograd_transforms.h

F(m, r) computes m outputs of a correlation y_i = sum_k g_k d_(i+k) with an
r-tap filter from a tile of a = m + r - 1 inputs:
    y = A^T [(G g) * (B^T d)]            (1-D)
    Y = A^T [(G g G^T) * (B^T d B)] A    (2-D, nested)
with the interpolation points below and infinity. A^T and G follow Lavin &
Gray (2016) with the fractions in G (applied to the weights once, in double
precision); B^T is solved for here, exactly, and every identity is checked
with rational arithmetic before anything is written."""
from fractions import Fraction as Fr
import sys

POINTS = {
    # alpha = 6 (F(2, 5) would be too: 1.4x the direct kernel against
    # F(4, 5)'s 2.6x, measured on the tetrominoes decoder)
    (4, 3): [0, 1, -1, 2, -2],
    # the weight gradients of those: k outputs from a k + m - 1 tile with
    # the m x m output gradient as the filter
    (3, 4): [0, 1, -1, 2, -2],
    # alpha = 8
    (4, 5): [0, 1, -1, 2, -2, Fr(1, 2), Fr(-1, 2)],
    (5, 4): [0, 1, -1, 2, -2, Fr(1, 2), Fr(-1, 2)],
}


# the kinds whose filter is the output gradient, transformed in float
GRADIENT_KINDS = {(3, 4), (5, 4)}


def matrices(m, r):
    pts = [Fr(p) for p in POINTS[(m, r)]]
    a = m + r - 1
    assert len(pts) == a - 1
    at = [[Fr(0)] * a for _ in range(m)]
    for i in range(m):
        for j in range(a - 1):
            at[i][j] = pts[j] ** i
    at[m - 1][a - 1] = Fr(1)
    g = [[Fr(0)] * r for _ in range(a)]
    for j in range(a - 1):
        n = Fr(1)
        for l in range(a - 1):
            if l != j:
                n *= pts[j] - pts[l]
        for k in range(r):
            g[j][k] = pts[j] ** k / n
    g[a - 1][r - 1] = Fr(1)
    # B^T column by column: sum_j AT[i][j] G[j][k] BT[j][l] = [l == i + k]
    bt = [[Fr(0)] * a for _ in range(a)]
    for l in range(a):
        rows = []
        for i in range(m):
            for k in range(r):
                rows.append([at[i][j] * g[j][k] for j in range(a)] + [Fr(int(l == i + k))])
        sol = solve(rows, a)
        for j in range(a):
            bt[j][l] = sol[j]
    check(at, g, bt, m, r)
    return at, g, bt


def solve(rows, n):
    """Exact Gaussian elimination of an over-determined but consistent system."""
    rows = [row[:] for row in rows]
    rank = 0
    for c in range(n):
        p = next((i for i in range(rank, len(rows)) if rows[i][c] != 0), None)
        if p is None:
            continue
        rows[rank], rows[p] = rows[p], rows[rank]
        pv = rows[rank][c]
        rows[rank] = [v / pv for v in rows[rank]]
        for i in range(len(rows)):
            if i != rank and rows[i][c] != 0:
                f = rows[i][c]
                rows[i] = [vi - f * vr for vi, vr in zip(rows[i], rows[rank])]
        rank += 1
    assert rank == n, "singular system"
    for i in range(rank, len(rows)):
        assert rows[i][n] == 0, "inconsistent system"
    return [rows[i][n] for i in range(n)]


def check(at, g, bt, m, r):
    a = m + r - 1
    for i in range(m):
        for k in range(r):
            for l in range(a):
                s = sum(at[i][j] * g[j][k] * bt[j][l] for j in range(a))
                assert s == (1 if l == i + k else 0), (m, r, i, k, l, s)


def fmt(v):
    f = float(v)
    assert Fr(f) == v, "coefficient not exact in binary: %s" % v
    return repr(f) + "f"


def expr_of(terms):
    """A C expression for sum(c * v) over terms [(c, v)], v a C name: +1
    terms first, then -1 (a subtraction), then the multiply-adds."""
    terms = sorted(terms, key=lambda t: 0 if t[0] == 1 else 1 if t[0] == -1 else 2)
    expr = None
    for c, x in terms:
        if expr is None:
            if c == 1:
                expr = x
            elif c == -1:
                expr = "vf_sub (vf_zero (), %s)" % x
            else:
                expr = "vf_mul (vf_set1 (%s), %s)" % (fmt(c), x)
        elif c == 1:
            expr = "vf_add (%s, %s)" % (expr, x)
        elif c == -1:
            expr = "vf_sub (%s, %s)" % (expr, x)
        else:
            expr = "vf_fmadd (vf_set1 (%s), %s, %s)" % (fmt(c), x, expr)
    return expr


def parity_sign(i):
    return 1 if i % 2 == 0 else -1


def program_1d(mat, nin, nout):
    """out = mat . in as a list of assignments (name, [(coef, name)]), using
    the symmetry of interpolation points +p and -p: two rows that differ only
    in the sign of their odd-index terms become E + O and E - O (B^T, G), and
    two such columns share in[j] + in[j'] and in[j] - in[j'] (A^T)."""
    prog = []
    rows_done = set()
    for r0 in range(nout):
        if r0 in rows_done:
            continue
        for r1 in range(r0 + 1, nout):
            if r1 in rows_done:
                continue
            same = all(mat[r1][i] == mat[r0][i] * parity_sign(i) for i in range(nin))
            flip = all(mat[r1][i] == -mat[r0][i] * parity_sign(i) for i in range(nin))
            even = [(mat[r0][i], "in[%d]" % i) for i in range(0, nin, 2) if mat[r0][i] != 0]
            odd = [(mat[r0][i], "in[%d]" % i) for i in range(1, nin, 2) if mat[r0][i] != 0]
            if (same or flip) and len(even) + len(odd) > 2 and even and odd:
                e, o = "e%d" % r0, "o%d" % r0
                prog.append((e, even))
                prog.append((o, odd))
                prog.append(("out[%d]" % r0, [(1, e), (1, o)]))
                prog.append(("out[%d]" % r1, [(1, e), (-1, o)] if same else [(1, o), (-1, e)]))
                rows_done |= {r0, r1}
                break
    # column pairs for the rows left
    left = [r for r in range(nout) if r not in rows_done]
    pairs, cols_done = [], set()
    for j0 in range(nin):
        for j1 in range(j0 + 1, nin):
            if j0 in cols_done or j1 in cols_done:
                continue
            if all(mat[r][j0] != 0 for r in left) and \
               all(mat[r][j1] == mat[r][j0] * parity_sign(r) for r in left) and len(left) > 1:
                pairs.append((j0, j1))
                cols_done |= {j0, j1}
    for j0, j1 in pairs:
        prog.append(("s%d" % j0, [(1, "in[%d]" % j0), (1, "in[%d]" % j1)]))
        prog.append(("d%d" % j0, [(1, "in[%d]" % j0), (-1, "in[%d]" % j1)]))
    for r in left:
        terms = [(mat[r][j], "in[%d]" % j) for j in range(nin)
                 if j not in cols_done and mat[r][j] != 0]
        for j0, _ in pairs:
            terms.append((mat[r][j0], ("s%d" if r % 2 == 0 else "d%d") % j0))
        terms = [t for t in terms if t[0] != 0]
        assert terms
        # unit terms first: fewer multiplies at the start of the chain
        prog.append(("out[%d]" % r, terms))
    check_program(prog, mat, nin, nout)
    return prog


def check_program(prog, mat, nin, nout):
    """Runs the program exactly on every unit input."""
    for k in range(nin):
        env = {"in[%d]" % i: Fr(int(i == k)) for i in range(nin)}
        for name, terms in prog:
            env[name] = sum(c * env[v] for c, v in terms)
        for r in range(nout):
            assert env["out[%d]" % r] == mat[r][k], (r, k)


def emit_1d(name, mat, nin, nout, doc):
    """out[o] = sum_i mat[o][i] in[i] on vf values (simd.h)."""
    prog = program_1d(mat, nin, nout)
    lines = ["/* %s */" % doc,
             "static SIMD_INLINE void\n%s (const vf *in, vf *out)\n{" % name]
    for var, terms in prog:
        if var.startswith("out"):
            lines.append("  %s = %s;" % (var, expr_of(terms)))
        else:
            lines.append("  const vf %s = %s;" % (var, expr_of(terms)))
    lines.append("}\n")
    return "\n".join(lines)


def emit_table(name, mat):
    rows = ["  { %s }," % ", ".join(
        "%d.0 / %d.0" % (v.numerator, v.denominator) if v.denominator != 1 else "%d.0" % v.numerator
        for v in row) for row in mat]
    return "static const double %s[%d][%d] = {\n%s\n};\n" % (name, len(mat), len(mat[0]), "\n".join(rows))


def main():
    out = sys.stdout
    out.write("/* Generated by scripts/gen-winograd.py: do not edit. The Winograd\n"
              " * transforms of F(m, r) for conv_winograd.c, checked exactly there. */\n"
              "#ifndef IODINE_WINOGRAD_TRANSFORMS_H\n#define IODINE_WINOGRAD_TRANSFORMS_H\n\n"
              "#include \"simd.h\"\n#if IODINE_X86\n\n")
    written_bt = []
    for (m, r) in sorted(POINTS):
        at, g, bt = matrices(m, r)
        a = m + r - 1
        tag = "%d_%d" % (m, r)
        out.write("/* F(%d, %d): tiles of %d inputs, points %s and infinity */\n"
                  % (m, r, a, ", ".join(str(p) for p in POINTS[(m, r)])))
        same = [t for t, b in written_bt if b == bt]
        if same:
            # F(m, r) and F(r, m) on the same points share B^T
            out.write("/* B^T of F(%d, %d) is that of F(%s) */\n#define wino_in_%s wino_in_%s\n"
                      % (m, r, same[0].replace("_", ", "), tag, same[0]))
        else:
            out.write(emit_1d("wino_in_%s" % tag, bt, a, a,
                              "B^T of F(%d, %d): %d inputs to %d transformed values"
                              % (m, r, a, a)))
            written_bt.append((tag, bt))
        if (m, r) not in GRADIENT_KINDS:
            # G is applied to the weights once per call, in double
            out.write(emit_table("wino_g_%s" % tag, g))
            out.write(emit_1d("wino_out_%s" % tag, at, a, m,
                              "A^T of F(%d, %d): %d products to %d outputs" % (m, r, a, m)))
            continue
        # The filter is the output gradient, transformed in float per tile:
        # G's row factors 1/N_j move into A^T's columns, so that G has only
        # integers and powers of two, and A^T is applied once, in double,
        # to the products summed over all tiles.
        nj = [1 / g[j][0] for j in range(a - 1)] + [Fr(1)]
        gi = [[g[j][k] * nj[j] for k in range(r)] for j in range(a)]
        ats = [[at[i][j] / nj[j] for j in range(a)] for i in range(m)]
        check(ats, gi, bt, m, r)
        out.write(emit_1d("wino_filter_%s" % tag, gi, r, a,
                          "G of F(%d, %d), rows scaled to integers and powers of two: "
                          "%d taps to %d transformed values" % (m, r, r, a)))
        out.write(emit_table("wino_at_scaled_%s" % tag, ats))
    out.write("#endif\n")
    out.write("#endif\n")


if __name__ == "__main__":
    main()
