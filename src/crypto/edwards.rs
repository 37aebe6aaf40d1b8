//! Twisted Edwards arithmetic for the two GOST parameter sets that are twisted Edwards curves,
//! TC26 256 A and TC26 512 C (RFC 7836: e·u² + v² = 1 + d·u²·v², with e = 1 for both).
//!
//! Hand-written (like the rest of this module's curve code) because no well-kept crate implements
//! these curves. Keys, certificates and signatures use the Weierstrass form y² = x³ + ax + b, which
//! is related to the Edwards form by (RFC 7836, s = (e − d)/4, t = (e + d)/6)
//!   u = (x − t)/y,  v = (x − t − s)/(x − t + s);   x = s(1 + v)/(1 − v) + t,  y = s(1 + v)/((1 − v)u).
//! Computing in Edwards extended coordinates (Hisil–Wong–Carter–Dawson 2008) instead of the
//! Weierstrass form with a general a roughly halves the cost of the point operations:
//! mixed addition 8M (complete Renes–Costello–Batina Weierstrass addition: 12M + 3 multiplications
//! by a + 2 by 3b), doubling 4M + 4S (3M + 4S without T).
//!
//! Completeness: with e = 1 a square and d a non-square in GF(p) (checked for both sets by
//! `Edwards::new`, which refuses otherwise), the addition law has no exceptional cases (Bernstein–Lange
//! 2007, Hisil et al. 2008), so the constant-time signing path (fixed-base comb, constant-time table
//! reads, one complete addition per window) has no secret-dependent branch. Verification uses the
//! same formulas in variable time.
#![allow(clippy::needless_range_loop)] // limb arithmetic indexes arrays in lock-step
use crypto_bigint::Uint;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::curve::Curve;
use super::ec::{Affine, G_WINDOW, wnaf};

/// Window width of the wNAF of u2 in verification.
const Q_WINDOW: u32 = 5;
use super::field::{Fe, Field, Invertible};

/// An affine Edwards point with its precomputed d·u·v (for the mixed addition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct EdAffine<const N: usize> {
    pub(crate) u: Fe<N>,
    pub(crate) v: Fe<N>,
    pub(crate) duv: Fe<N>,
}

impl<const N: usize> ConditionallySelectable for EdAffine<N> {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        EdAffine {
            u: Fe::conditional_select(&a.u, &b.u, choice),
            v: Fe::conditional_select(&a.v, &b.v, choice),
            duv: Fe::conditional_select(&a.duv, &b.duv, choice),
        }
    }
}

/// Extended coordinates (X:Y:T:Z): u = X/Z, v = Y/Z, T = XY/Z. The identity is (0:1:0:1).
#[derive(Clone, Copy, Debug)]
pub(crate) struct EdPoint<const N: usize> {
    pub(crate) x: Fe<N>,
    pub(crate) y: Fe<N>,
    pub(crate) t: Fe<N>,
    pub(crate) z: Fe<N>,
}

impl<const N: usize> zeroize::Zeroize for EdPoint<N> {
    fn zeroize(&mut self) {
        self.x.zeroize();
        self.y.zeroize();
        self.t.zeroize();
        self.z.zeroize();
    }
}

/// The Edwards model of a curve: constants and the fixed-base comb table of the base point.
pub(crate) struct Edwards<const N: usize> {
    pub(crate) d: Fe<N>,
    pub(crate) s: Fe<N>,
    pub(crate) t: Fe<N>,
    /// Entry (i, j) = (j+1)·16^i·P, the same layout as the Weierstrass `CombTable`.
    table: Vec<EdAffine<N>>,
    /// Odd multiples P, 3P, …, 127P of the base point (the curve's `g_odd` mapped), for verification.
    g_odd: Vec<EdAffine<N>>,
}

const ENTRIES: usize = 15;

impl<const N: usize> Edwards<N>
where
    Uint<N>: Invertible,
{
    /// The Edwards model for `d` (e = 1): checks that a = s² − 3t², b = 2t³ − ts² (the model belongs
    /// to this curve) and that d is a non-square (complete addition law); `None` otherwise.
    pub(crate) fn new(c: &Curve<N>, d: &Uint<N>) -> Option<Edwards<N>> {
        let f = &c.f;
        if !f.in_range(d) {
            return None;
        }
        let d = f.from_uint(d);
        let one = f.one;
        let two = f.dbl(&one);
        let four = f.dbl(&two);
        let six = f.add(&four, &two);
        let s = f.mul(&f.sub(&one, &d), &f.invert_vartime(&four));
        let t = f.mul(&f.add(&one, &d), &f.invert_vartime(&six));
        let s2 = f.sqr(&s);
        let t2 = f.sqr(&t);
        let a = f.sub(&s2, &f.add(&f.dbl(&t2), &t2));
        let b = f.sub(&f.dbl(&f.mul(&t2, &t)), &f.mul(&t, &s2));
        if a != c.a || b != c.b || is_square(f, &d) {
            return None;
        }
        let mut ed = Edwards {
            d,
            s,
            t,
            table: Vec::new(),
            g_odd: Vec::new(),
        };
        ed.table = ed.batch_from_weierstrass(f, c.table.points())?;
        ed.g_odd = ed.batch_from_weierstrass(f, &c.g_odd)?;
        Some(ed)
    }

    /// Maps Weierstrass points to the Edwards model with one inversion; `None` when a point has
    /// y = 0 or x − t + s = 0 (points of order 2 or 4, never multiples of a point of odd order).
    pub(crate) fn batch_from_weierstrass(
        &self,
        f: &Field<N>,
        pts: &[Affine<N>],
    ) -> Option<Vec<EdAffine<N>>> {
        // denominators y·(x − t + s)
        let mut dens = Vec::with_capacity(pts.len());
        for p in pts {
            let xt = f.sub(&p.x, &self.t);
            let den = f.mul(&p.y, &f.add(&xt, &self.s));
            if bool::from(f.is_zero(&den)) {
                return None;
            }
            dens.push(den);
        }
        let invs = batch_invert(f, &dens);
        let mut out = Vec::with_capacity(pts.len());
        for (p, inv) in pts.iter().zip(invs) {
            let xt = f.sub(&p.x, &self.t);
            let u = f.mul(&f.mul(&xt, &f.add(&xt, &self.s)), &inv);
            let v = f.mul(&f.mul(&f.sub(&xt, &self.s), &p.y), &inv);
            out.push(EdAffine {
                u,
                v,
                duv: f.mul(&self.d, &f.mul(&u, &v)),
            });
        }
        Some(out)
    }

    /// Constant-time read of digit `d` (0..=15) of window `i`; digit 0 reads the identity.
    #[inline(always)]
    fn select_ct(&self, f: &Field<N>, window: usize, d: u64) -> EdAffine<N> {
        let start = window * ENTRIES;
        let row = self.table.get(start..start + ENTRIES).unwrap_or(&[]);
        let mut out = EdAffine {
            u: f.zero(),
            v: f.one,
            duv: f.zero(),
        };
        for (j, pt) in row.iter().enumerate() {
            out.conditional_assign(pt, d.ct_eq(&(j as u64 + 1)));
        }
        out
    }

    /// k·P for the base point P, constant time in k (any k < 2^(64N); k = 0 gives the identity).
    pub(crate) fn base_mul_ct(&self, f: &Field<N>, k: &[u64; N]) -> EdPoint<N> {
        let mut acc = identity(f);
        for i in 0..64 * N / 4 {
            let d = (k[i / 16] >> ((i % 16) * 4)) & 0xf;
            let pt = self.select_ct(f, i, d);
            acc = add_mixed(f, &acc, &pt, true);
        }
        acc
    }

    /// Numerator and denominator of the Weierstrass x of an Edwards point:
    /// x = t + s(Z + Y)/(Z − Y) = (t(Z − Y) + s(Z + Y)) / (Z − Y). The denominator is 0 exactly for
    /// the identity (the point at infinity of the Weierstrass form).
    pub(crate) fn weierstrass_x_fraction(&self, f: &Field<N>, p: &EdPoint<N>) -> (Fe<N>, Fe<N>) {
        let den = f.sub(&p.z, &p.y);
        let num = f.add(&f.mul(&self.t, &den), &f.mul(&self.s, &f.add(&p.z, &p.y)));
        (num, den)
    }

    /// The Weierstrass point of an Edwards point (constant-time inversion); `None` for the
    /// identity (the point at infinity).
    pub(crate) fn to_weierstrass_ct(&self, f: &Field<N>, p: &EdPoint<N>) -> Option<Affine<N>> {
        // x = t + s(Z+Y)/(Z−Y), y = s(Z+Y)·Z/((Z−Y)·X); common denominator (Z−Y)·X
        let zmy = f.sub(&p.z, &p.y);
        let den = f.mul(&zmy, &p.x);
        if bool::from(f.is_zero(&den)) {
            return None;
        }
        let inv = f.invert_ct(&den);
        let szy = f.mul(&self.s, &f.add(&p.z, &p.y));
        let x = f.add(&self.t, &f.mul(&f.mul(&szy, &p.x), &inv));
        let y = f.mul(&f.mul(&szy, &p.z), &inv);
        Some(Affine { x, y })
    }

    /// The Weierstrass x of an Edwards point, constant time (the identity gives x = t).
    pub(crate) fn weierstrass_x_ct(&self, f: &Field<N>, p: &EdPoint<N>) -> Fe<N> {
        let (num, den) = self.weierstrass_x_fraction(f, p);
        f.mul(&num, &f.invert_ct(&den))
    }

    /// u1·P + u2·Q for the base point P and a public point Q (variable time: public inputs only),
    /// interleaved as in `ec::double_mul_vartime`. `None` when Q has no Edwards image (a point of
    /// order 2 or 4: not a valid public key).
    pub(crate) fn double_mul_vartime(
        &self,
        f: &Field<N>,
        u1: &Uint<N>,
        u2: &Uint<N>,
        q: &Affine<N>,
    ) -> Option<EdPoint<N>> {
        // Q in extended coordinates without an inversion: with a = x − t, u = a/y and
        // v = (a − s)/(a + s), (X : Y : T : Z) = (a(a + s) : (a − s)y : a(a − s) : y(a + s)).
        let a = f.sub(&q.x, &self.t);
        let (a_plus, a_minus) = (f.add(&a, &self.s), f.sub(&a, &self.s));
        let q1 = EdPoint {
            x: f.mul(&a, &a_plus),
            y: f.mul(&a_minus, &q.y),
            t: f.mul(&a, &a_minus),
            z: f.mul(&q.y, &a_plus),
        };
        if bool::from(f.is_zero(&q1.z)) {
            return None;
        }
        // odd multiples Q, 3Q, …, (2^(w−1) − 1)Q, kept projective (an addition costs 1M more than
        // with affine points, but the inversion that normalising would take costs more than that)
        let q2 = dbl(f, &q1, true);
        let mut odd = Vec::with_capacity(1 << (Q_WINDOW - 2));
        let mut cur = q1;
        odd.push(EdCached::new(f, &cur, &self.d));
        for _ in 1..(1usize << (Q_WINDOW - 2)) {
            cur = add(f, &cur, &q2, &self.d);
            odd.push(EdCached::new(f, &cur, &self.d));
        }
        let naf1 = wnaf(u1, G_WINDOW);
        let naf2 = wnaf(u2, Q_WINDOW);
        let mut acc = identity(f);
        for i in (0..naf1.len().max(naf2.len())).rev() {
            let d1 = naf1.get(i).copied().unwrap_or(0);
            let d2 = naf2.get(i).copied().unwrap_or(0);
            // T is only needed when an addition follows (doubling does not read it)
            acc = dbl_v(f, &acc, d1 != 0 || d2 != 0);
            if d2 > 0 {
                acc = add_cached_v(f, &acc, &odd[(d2 as usize) / 2], d1 != 0);
            } else if d2 < 0 {
                acc = add_cached_v(f, &acc, &odd[((-d2) as usize) / 2].neg(f), d1 != 0);
            }
            if d1 > 0 {
                acc = add_mixed_v(f, &acc, &self.g_odd[(d1 as usize) / 2], false);
            } else if d1 < 0 {
                acc = add_mixed_v(f, &acc, &neg(f, &self.g_odd[((-d1) as usize) / 2]), false);
            }
        }
        Some(acc)
    }
}

// Verification's point operations. For 8 limbs each is a separate function (one inlined copy
// each): inlining all of them into the loop made 512 C verification slower (measured 271 → 229 µs
// best); for 4 limbs the calls cost more than they save (42.7 → 45.4 µs), so they stay inlined.
#[inline(always)]
fn dbl_v<const N: usize>(f: &Field<N>, p: &EdPoint<N>, want_t: bool) -> EdPoint<N> {
    if N >= 8 {
        dbl_outlined(f, p, want_t)
    } else {
        dbl(f, p, want_t)
    }
}
#[inline(always)]
fn add_cached_v<const N: usize>(
    f: &Field<N>,
    p: &EdPoint<N>,
    q: &EdCached<N>,
    want_t: bool,
) -> EdPoint<N> {
    if N >= 8 {
        add_cached_outlined(f, p, q, want_t)
    } else {
        add_cached(f, p, q, want_t)
    }
}
#[inline(always)]
fn add_mixed_v<const N: usize>(
    f: &Field<N>,
    p: &EdPoint<N>,
    q: &EdAffine<N>,
    want_t: bool,
) -> EdPoint<N> {
    if N >= 8 {
        add_mixed_outlined(f, p, q, want_t)
    } else {
        add_mixed(f, p, q, want_t)
    }
}
#[inline(never)]
fn dbl_outlined<const N: usize>(f: &Field<N>, p: &EdPoint<N>, want_t: bool) -> EdPoint<N> {
    dbl(f, p, want_t)
}
#[inline(never)]
fn add_cached_outlined<const N: usize>(
    f: &Field<N>,
    p: &EdPoint<N>,
    q: &EdCached<N>,
    want_t: bool,
) -> EdPoint<N> {
    add_cached(f, p, q, want_t)
}
#[inline(never)]
fn add_mixed_outlined<const N: usize>(
    f: &Field<N>,
    p: &EdPoint<N>,
    q: &EdAffine<N>,
    want_t: bool,
) -> EdPoint<N> {
    add_mixed(f, p, q, want_t)
}

/// a^((p−1)/2) = 1: Euler's criterion (variable time, public constants only).
fn is_square<const N: usize>(f: &Field<N>, a: &Fe<N>) -> bool {
    let e = Uint::<N>::from_words(f.p)
        .wrapping_sub(&Uint::ONE)
        .shr_vartime(1);
    let mut r = f.one;
    for i in (0..e.bits_vartime()).rev() {
        r = f.sqr(&r);
        if e.bit_vartime(i) {
            r = f.mul(&r, a);
        }
    }
    r == f.one
}

/// Inverses of non-zero elements with one inversion (Montgomery's trick; variable time).
fn batch_invert<const N: usize>(f: &Field<N>, xs: &[Fe<N>]) -> Vec<Fe<N>>
where
    Uint<N>: Invertible,
{
    let mut prefix = Vec::with_capacity(xs.len());
    let mut acc = f.one;
    for x in xs {
        prefix.push(acc);
        acc = f.mul(&acc, x);
    }
    let mut inv = f.invert_vartime(&acc);
    let mut out = vec![f.zero(); xs.len()];
    for k in (0..xs.len()).rev() {
        out[k] = f.mul(&inv, &prefix[k]);
        inv = f.mul(&inv, &xs[k]);
    }
    out
}

#[inline(always)]
pub(crate) fn identity<const N: usize>(f: &Field<N>) -> EdPoint<N> {
    EdPoint {
        x: f.zero(),
        y: f.one,
        t: f.zero(),
        z: f.one,
    }
}

fn neg<const N: usize>(f: &Field<N>, p: &EdAffine<N>) -> EdAffine<N> {
    EdAffine {
        u: f.neg(&p.u),
        v: p.v,
        duv: f.neg(&p.duv),
    }
}

/// Complete mixed addition (add-2008-hwcd with Z2 = 1, e = 1): 8M, or 7M when T is not wanted
/// (T is then left stale and must not be read). Constant time.
#[inline(always)]
pub(crate) fn add_mixed<const N: usize>(
    f: &Field<N>,
    p: &EdPoint<N>,
    q: &EdAffine<N>,
    want_t: bool,
) -> EdPoint<N> {
    let a = f.mul(&p.x, &q.u);
    let b = f.mul(&p.y, &q.v);
    let c = f.mul(&p.t, &q.duv);
    let d = p.z;
    let e = f.sub(
        &f.sub(&f.mul(&f.add(&p.x, &p.y), &f.add(&q.u, &q.v)), &a),
        &b,
    );
    let ff = f.sub(&d, &c);
    let g = f.add(&d, &c);
    let h = f.sub(&b, &a);
    EdPoint {
        x: f.mul(&e, &ff),
        y: f.mul(&g, &h),
        t: if want_t { f.mul(&e, &h) } else { p.t },
        z: f.mul(&ff, &g),
    }
}

/// An extended point prepared as the second operand of `add_cached`: X, Y, X + Y, Y − X, d·T, Z.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EdCached<const N: usize> {
    x: Fe<N>,
    y: Fe<N>,
    xpy: Fe<N>,
    ymx: Fe<N>,
    dt: Fe<N>,
    z: Fe<N>,
}

impl<const N: usize> EdCached<N> {
    fn new(f: &Field<N>, p: &EdPoint<N>, d: &Fe<N>) -> Self {
        EdCached {
            x: p.x,
            y: p.y,
            xpy: f.add(&p.x, &p.y),
            ymx: f.sub(&p.y, &p.x),
            dt: f.mul(d, &p.t),
            z: p.z,
        }
    }

    /// −P = (−X : Y : −T : Z).
    fn neg(&self, f: &Field<N>) -> Self {
        EdCached {
            x: f.neg(&self.x),
            y: self.y,
            xpy: self.ymx,
            ymx: self.xpy,
            dt: f.neg(&self.dt),
            z: self.z,
        }
    }
}

/// Complete addition of an extended point and a prepared one (add-2008-hwcd, e = 1): 9M, or 8M
/// when T is not wanted (T is then left stale and must not be read).
#[inline(always)]
fn add_cached<const N: usize>(
    f: &Field<N>,
    p: &EdPoint<N>,
    q: &EdCached<N>,
    want_t: bool,
) -> EdPoint<N> {
    let a = f.mul(&p.x, &q.x);
    let b = f.mul(&p.y, &q.y);
    let c = f.mul(&p.t, &q.dt);
    let d = f.mul(&p.z, &q.z);
    let e = f.sub(&f.sub(&f.mul(&f.add(&p.x, &p.y), &q.xpy), &a), &b);
    let ff = f.sub(&d, &c);
    let g = f.add(&d, &c);
    let h = f.sub(&b, &a);
    EdPoint {
        x: f.mul(&e, &ff),
        y: f.mul(&g, &h),
        t: if want_t { f.mul(&e, &h) } else { p.t },
        z: f.mul(&ff, &g),
    }
}

/// Complete addition of two extended points (add-2008-hwcd, e = 1): 9M + 1 multiplication by d.
pub(crate) fn add<const N: usize>(
    f: &Field<N>,
    p: &EdPoint<N>,
    q: &EdPoint<N>,
    d: &Fe<N>,
) -> EdPoint<N> {
    let a = f.mul(&p.x, &q.x);
    let b = f.mul(&p.y, &q.y);
    let c = f.mul(&f.mul(&p.t, d), &q.t);
    let dd = f.mul(&p.z, &q.z);
    let e = f.sub(
        &f.sub(&f.mul(&f.add(&p.x, &p.y), &f.add(&q.x, &q.y)), &a),
        &b,
    );
    let ff = f.sub(&dd, &c);
    let g = f.add(&dd, &c);
    let h = f.sub(&b, &a);
    EdPoint {
        x: f.mul(&e, &ff),
        y: f.mul(&g, &h),
        t: f.mul(&e, &h),
        z: f.mul(&ff, &g),
    }
}

/// Doubling (dbl-2008-hwcd, e = 1): 4M + 4S, or 3M + 4S when T is not wanted (T is then left stale
/// and must not be read).
#[inline(always)]
pub(crate) fn dbl<const N: usize>(f: &Field<N>, p: &EdPoint<N>, want_t: bool) -> EdPoint<N> {
    let a = f.sqr(&p.x);
    let b = f.sqr(&p.y);
    let c = f.dbl(&f.sqr(&p.z));
    let e = f.sub(&f.sub(&f.sqr(&f.add(&p.x, &p.y)), &a), &b);
    let g = f.add(&a, &b);
    let ff = f.sub(&g, &c);
    let h = f.sub(&a, &b);
    EdPoint {
        x: f.mul(&e, &ff),
        y: f.mul(&g, &h),
        t: if want_t { f.mul(&e, &h) } else { p.t },
        z: f.mul(&ff, &g),
    }
}

#[cfg(test)]
mod tests {
    use super::super::curve::curve256;
    use super::super::curve::curve512;
    use super::super::ec::{self, mul_vartime};
    use super::super::gost3410::ParamSet;
    use super::*;

    fn rand_words<const N: usize>(s: &mut u64) -> [u64; N] {
        let mut w = [0u64; N];
        for x in w.iter_mut() {
            *s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *x = *s ^ (*s >> 31);
        }
        w
    }

    fn agree<const N: usize>(c: &Curve<N>)
    where
        Uint<N>: Invertible,
    {
        let Some(ed) = c.ed.as_ref() else {
            unreachable!("{:?} has an Edwards model", c.ps)
        };
        let f = &c.f;
        // the base point's image satisfies u² + v² = 1 + d·u²·v²
        let Some(g) = ed.batch_from_weierstrass(f, &[c.g]) else {
            unreachable!()
        };
        let (u2, v2) = (f.sqr(&g[0].u), f.sqr(&g[0].v));
        assert_eq!(
            f.add(&u2, &v2),
            f.add(&f.one, &f.mul(&ed.d, &f.mul(&u2, &v2)))
        );
        let mut s = 0x9e37_79b9_7f4a_7c15u64 ^ N as u64;
        for _ in 0..6 {
            let k = rand_words::<N>(&mut s);
            let ku = Uint::<N>::from_words(k);
            // Edwards comb vs Weierstrass double-and-add
            let want = mul_vartime(c, &ku, &c.g).to_affine(c);
            let got = ed.to_weierstrass_ct(f, &ed.base_mul_ct(f, &k));
            assert_eq!(got, want);
            let (num, den) = ed.weierstrass_x_fraction(f, &ed.base_mul_ct(f, &k));
            assert_eq!(
                Some(f.mul(&num, &f.invert_vartime(&den))),
                want.map(|a| a.x)
            );
            // joint u1·G + u2·Q vs separate multiplications
            let u1 = Uint::<N>::from_words(rand_words::<N>(&mut s));
            let u2 = Uint::<N>::from_words(rand_words::<N>(&mut s));
            let Some(q) = want else { unreachable!() };
            let Some(joint) = ed.double_mul_vartime(f, &u1, &u2, &q) else {
                unreachable!()
            };
            let sep = ec::jadd(c, &mul_vartime(c, &u1, &c.g), &mul_vartime(c, &u2, &q));
            assert_eq!(ed.to_weierstrass_ct(f, &joint), sep.to_affine(c));
            // and the Weierstrass joint multiplication agrees too
            assert_eq!(
                ec::double_mul_vartime(c, &u1, &u2, &q).to_affine(c),
                sep.to_affine(c)
            );
        }
        // k = 0 and k = q give the identity (the point at infinity)
        let zero = ed.base_mul_ct(f, &[0u64; N]);
        assert!(bool::from(
            f.is_zero(&ed.weierstrass_x_fraction(f, &zero).1)
        ));
        let mut qw = [0u64; N];
        qw.copy_from_slice(c.q.as_ref().as_words());
        let at_q = ed.base_mul_ct(f, &qw);
        assert!(bool::from(
            f.is_zero(&ed.weierstrass_x_fraction(f, &at_q).1)
        ));
        assert!(ed.to_weierstrass_ct(f, &at_q).is_none());
    }

    #[test]
    fn edwards_model_agrees_with_weierstrass() {
        let (Some(c256), Some(c512)) =
            (curve256(ParamSet::Tc26_256A), curve512(ParamSet::Tc26_512C))
        else {
            unreachable!()
        };
        agree(c256);
        agree(c512);
        // the other sets have no Edwards model
        for ps in ParamSet::ALL {
            if let Some(c) = curve256(ps) {
                assert_eq!(c.ed.is_some(), ps == ParamSet::Tc26_256A);
            }
            if let Some(c) = curve512(ps) {
                assert_eq!(c.ed.is_some(), ps == ParamSet::Tc26_512C);
            }
        }
    }
}
