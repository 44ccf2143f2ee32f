#!/usr/bin/python3
"""compare.py REF.npy OUT.raw [--rtol R] [--atol A]: compares a bundle's raw output with a
reference tensor (its dtype and element count come from the .npy). Prints the largest
absolute and relative errors and how much of the tolerance the worst element used;
exits 1 unless every element satisfies |out - ref| <= atol + rtol * |ref| (integers:
equal), 2 on unusable files."""
import argparse
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('ref')
    ap.add_argument('out')
    ap.add_argument('--rtol', type=float, default=1e-3)
    ap.add_argument('--atol', type=float, default=1e-4)
    a = ap.parse_args()
    ref = np.load(a.ref)
    dt = ref.dtype.newbyteorder('<')
    raw = open(a.out, 'rb').read()
    if len(raw) != ref.size * dt.itemsize:
        print('output has %d bytes, the reference %s %s needs %d'
              % (len(raw), ref.dtype, ref.shape, ref.size * dt.itemsize))
        return 2
    out = np.frombuffer(raw, dtype=dt).reshape(ref.shape)
    if ref.dtype.kind != 'f':
        bad = int(np.count_nonzero(out != ref))
        print('%s %s: %d of %d elements differ' % (ref.dtype, ref.shape, bad, ref.size))
        return 1 if bad else 0
    r = ref.astype(np.float64)
    d = np.abs(out.astype(np.float64) - r)
    nz = np.abs(r) > 0
    max_abs = float(d.max()) if d.size else 0.0
    max_rel = float((d[nz] / np.abs(r[nz])).max()) if nz.any() else 0.0
    worst = float((d / (a.atol + a.rtol * np.abs(r))).max()) if d.size else 0.0
    finite = bool(np.isfinite(out).all())
    print('max abs err %.3e, max rel err %.3e, worst err / tolerance %.3f (rtol %g, atol %g)%s'
          % (max_abs, max_rel, worst, a.rtol, a.atol, '' if finite else ', NON-FINITE values'))
    return 0 if finite and worst <= 1.0 else 1


if __name__ == '__main__':
    sys.exit(main())
