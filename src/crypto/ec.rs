//! Elliptic-curve point arithmetic on the GOST curves (short Weierstrass form).
//!
//! - Secret scalars (signing, key derivation) only ever multiply the base point: a fixed-base comb
//!   (4-bit windows, table j·16^i·P built once per curve) read with constant-time selection, summed
//!   with the complete projective addition formulas of Renes–Costello–Batina (no exceptional cases
//!   for points of odd order, so no secret-dependent branches).
//! - Verification (public data) uses Jacobian coordinates with a = −3 doubling where it applies,
//!   width-5 wNAF for the public key and the same comb table, variable time.
#![allow(clippy::needless_range_loop, clippy::wrong_self_convention)] // limb arithmetic indexes arrays in lock-step
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::curve::Curve;
use super::field::{Fe, Invertible};
use crypto_bigint::Uint;

/// An affine point (never the point at infinity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Affine<const N: usize> {
    pub(crate) x: Fe<N>,
    pub(crate) y: Fe<N>,
}

impl<const N: usize> ConditionallySelectable for Affine<N> {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        Affine {
            x: Fe::conditional_select(&a.x, &b.x, choice),
            y: Fe::conditional_select(&a.y, &b.y, choice),
        }
    }
}

/// Homogeneous projective point (X:Y:Z), x = X/Z, y = Y/Z; infinity (0:1:0).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Projective<const N: usize> {
    pub(crate) x: Fe<N>,
    pub(crate) y: Fe<N>,
    pub(crate) z: Fe<N>,
}

impl<const N: usize> ConditionallySelectable for Projective<N> {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        Projective {
            x: Fe::conditional_select(&a.x, &b.x, choice),
            y: Fe::conditional_select(&a.y, &b.y, choice),
            z: Fe::conditional_select(&a.z, &b.z, choice),
        }
    }
}

impl<const N: usize> zeroize::Zeroize for Projective<N> {
    fn zeroize(&mut self) {
        self.x.zeroize();
        self.y.zeroize();
        self.z.zeroize();
    }
}

/// Jacobian point (X:Y:Z), x = X/Z², y = Y/Z³; infinity has Z = 0.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian<const N: usize> {
    pub(crate) x: Fe<N>,
    pub(crate) y: Fe<N>,
    pub(crate) z: Fe<N>,
}

/// Fixed-base comb table: entry (i, j) = (j+1)·16^i·P for j in 0..15.
pub(crate) struct CombTable<const N: usize> {
    pts: Vec<Affine<N>>,
}

const WINDOW: usize = 4;
const ENTRIES: usize = (1 << WINDOW) - 1;

impl<const N: usize> CombTable<N>
where
    Uint<N>: Invertible,
{
    pub(crate) fn empty() -> Self {
        CombTable { pts: Vec::new() }
    }

    /// The number of 4-bit windows covering an N-limb scalar.
    fn windows() -> usize {
        64 * N / WINDOW
    }

    pub(crate) fn build(c: &Curve<N>, g: &Affine<N>) -> Self {
        let w = Self::windows();
        let mut jac: Vec<Jacobian<N>> = Vec::with_capacity(w * ENTRIES);
        let mut base = Jacobian::from_affine(c, g);
        for _ in 0..w {
            let mut cur = base;
            jac.push(cur);
            for _ in 2..=ENTRIES {
                cur = jadd(c, &cur, &base);
                jac.push(cur);
            }
            base = jadd(c, &cur, &base);
        }
        CombTable {
            pts: batch_to_affine(c, &jac),
        }
    }

    /// All entries, window by window.
    pub(crate) fn points(&self) -> &[Affine<N>] {
        &self.pts
    }

    #[inline(always)]
    fn entry(&self, window: usize, digit: usize) -> Option<&Affine<N>> {
        if digit == 0 || digit > ENTRIES {
            return None;
        }
        self.pts.get(window * ENTRIES + digit - 1)
    }

    /// Constant-time read of digit `d` (1..=15) of window `i`; for d = 0 returns entry 1 (the caller
    /// discards it).
    #[inline(always)]
    fn select_ct(&self, window: usize, d: u64) -> Affine<N> {
        let start = window * ENTRIES;
        let row = self.pts.get(start..start + ENTRIES).unwrap_or(&[]);
        let mut out = row.first().copied().unwrap_or_default();
        for (j, pt) in row.iter().enumerate().skip(1) {
            out.conditional_assign(pt, d.ct_eq(&(j as u64 + 1)));
        }
        out
    }
}

impl<const N: usize> Jacobian<N>
where
    Uint<N>: Invertible,
{
    pub(crate) fn infinity(c: &Curve<N>) -> Self {
        Jacobian {
            x: c.f.one,
            y: c.f.one,
            z: c.f.zero(),
        }
    }
    pub(crate) fn from_affine(c: &Curve<N>, a: &Affine<N>) -> Self {
        Jacobian {
            x: a.x,
            y: a.y,
            z: c.f.one,
        }
    }
    pub(crate) fn is_infinity(&self, c: &Curve<N>) -> bool {
        bool::from(c.f.is_zero(&self.z))
    }
    /// Affine form (variable time); `None` at infinity.
    #[cfg(test)]
    pub(crate) fn to_affine(&self, c: &Curve<N>) -> Option<Affine<N>> {
        if self.is_infinity(c) {
            return None;
        }
        let f = &c.f;
        let zi = f.invert_vartime(&self.z);
        let zi2 = f.sqr(&zi);
        let zi3 = f.mul(&zi2, &zi);
        Some(Affine {
            x: f.mul(&self.x, &zi2),
            y: f.mul(&self.y, &zi3),
        })
    }
}

/// Jacobian doubling (variable time only in the infinity check).
#[inline(always)]
pub(crate) fn jdbl<const N: usize>(c: &Curve<N>, p: &Jacobian<N>) -> Jacobian<N>
where
    Uint<N>: Invertible,
{
    let f = &c.f;
    if c.a_is_minus3 {
        // dbl-2001-b
        let delta = f.sqr(&p.z);
        let gamma = f.sqr(&p.y);
        let beta = f.mul(&p.x, &gamma);
        let t = f.mul(&f.sub(&p.x, &delta), &f.add(&p.x, &delta));
        let alpha = f.add(&f.dbl(&t), &t);
        let beta4 = f.dbl(&f.dbl(&beta));
        let x3 = f.sub(&f.sqr(&alpha), &f.dbl(&beta4));
        let z3 = f.sub(&f.sub(&f.sqr(&f.add(&p.y, &p.z)), &gamma), &delta);
        let g2 = f.sqr(&gamma);
        let g8 = f.dbl(&f.dbl(&f.dbl(&g2)));
        let y3 = f.sub(&f.mul(&alpha, &f.sub(&beta4, &x3)), &g8);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    } else {
        // dbl-2007-bl
        let xx = f.sqr(&p.x);
        let yy = f.sqr(&p.y);
        let yyyy = f.sqr(&yy);
        let zz = f.sqr(&p.z);
        let s = f.dbl(&f.sub(&f.sub(&f.sqr(&f.add(&p.x, &yy)), &xx), &yyyy));
        let m = f.add(&f.add(&f.dbl(&xx), &xx), &f.mul(&c.a, &f.sqr(&zz)));
        let t = f.sub(&f.sqr(&m), &f.dbl(&s));
        let y8 = f.dbl(&f.dbl(&f.dbl(&yyyy)));
        let y3 = f.sub(&f.mul(&m, &f.sub(&s, &t)), &y8);
        let z3 = f.sub(&f.sub(&f.sqr(&f.add(&p.y, &p.z)), &yy), &zz);
        Jacobian { x: t, y: y3, z: z3 }
    }
}

/// Jacobian addition, variable time (handles infinity, doubling and inverse points).
pub(crate) fn jadd<const N: usize>(c: &Curve<N>, p: &Jacobian<N>, q: &Jacobian<N>) -> Jacobian<N>
where
    Uint<N>: Invertible,
{
    if p.is_infinity(c) {
        return *q;
    }
    if q.is_infinity(c) {
        return *p;
    }
    let f = &c.f;
    // add-2007-bl
    let z1z1 = f.sqr(&p.z);
    let z2z2 = f.sqr(&q.z);
    let u1 = f.mul(&p.x, &z2z2);
    let u2 = f.mul(&q.x, &z1z1);
    let s1 = f.mul(&f.mul(&p.y, &q.z), &z2z2);
    let s2 = f.mul(&f.mul(&q.y, &p.z), &z1z1);
    let h = f.sub(&u2, &u1);
    let r = f.dbl(&f.sub(&s2, &s1));
    if bool::from(f.is_zero(&h)) {
        return if bool::from(f.is_zero(&r)) {
            jdbl(c, p)
        } else {
            Jacobian::infinity(c)
        };
    }
    let i = f.sqr(&f.dbl(&h));
    let j = f.mul(&h, &i);
    let v = f.mul(&u1, &i);
    let x3 = f.sub(&f.sub(&f.sqr(&r), &j), &f.dbl(&v));
    let y3 = f.sub(&f.mul(&r, &f.sub(&v, &x3)), &f.dbl(&f.mul(&s1, &j)));
    let z3 = f.mul(&f.sub(&f.sub(&f.sqr(&f.add(&p.z, &q.z)), &z1z1), &z2z2), &h);
    Jacobian {
        x: x3,
        y: y3,
        z: z3,
    }
}

/// Jacobian + affine, variable time.
#[inline(always)]
pub(crate) fn jmadd<const N: usize>(c: &Curve<N>, p: &Jacobian<N>, q: &Affine<N>) -> Jacobian<N>
where
    Uint<N>: Invertible,
{
    if p.is_infinity(c) {
        return Jacobian::from_affine(c, q);
    }
    let f = &c.f;
    // madd-2007-bl
    let z1z1 = f.sqr(&p.z);
    let u2 = f.mul(&q.x, &z1z1);
    let s2 = f.mul(&f.mul(&q.y, &p.z), &z1z1);
    let h = f.sub(&u2, &p.x);
    let r = f.dbl(&f.sub(&s2, &p.y));
    if bool::from(f.is_zero(&h)) {
        return if bool::from(f.is_zero(&r)) {
            jdbl(c, p)
        } else {
            Jacobian::infinity(c)
        };
    }
    let hh = f.sqr(&h);
    let i = f.dbl(&f.dbl(&hh));
    let j = f.mul(&h, &i);
    let v = f.mul(&p.x, &i);
    let x3 = f.sub(&f.sub(&f.sqr(&r), &j), &f.dbl(&v));
    let y3 = f.sub(&f.mul(&r, &f.sub(&v, &x3)), &f.dbl(&f.mul(&p.y, &j)));
    let z3 = f.sub(&f.sub(&f.sqr(&f.add(&p.z, &h)), &z1z1), &hh);
    Jacobian {
        x: x3,
        y: y3,
        z: z3,
    }
}

/// Normalises many Jacobian points (none at infinity) with one inversion.
fn batch_to_affine<const N: usize>(c: &Curve<N>, pts: &[Jacobian<N>]) -> Vec<Affine<N>>
where
    Uint<N>: Invertible,
{
    let f = &c.f;
    let mut prefix = Vec::with_capacity(pts.len());
    let mut acc = f.one;
    for p in pts {
        prefix.push(acc);
        acc = f.mul(&acc, &p.z);
    }
    let mut inv = f.invert_vartime(&acc);
    let mut out = vec![Affine::default(); pts.len()];
    for (k, p) in pts.iter().enumerate().rev() {
        let zi = f.mul(&inv, &prefix[k]);
        inv = f.mul(&inv, &p.z);
        let zi2 = f.sqr(&zi);
        out[k] = Affine {
            x: f.mul(&p.x, &zi2),
            y: f.mul(&p.y, &f.mul(&zi2, &zi)),
        };
    }
    out
}

/// Complete mixed addition (Renes–Costello–Batina 2016, general a): P (projective) + Q (affine).
/// Correct for every pair of points of odd order, including P = ∞ and P = ±Q. Constant time.
#[inline(always)]
pub(crate) fn padd_mixed<const N: usize>(
    c: &Curve<N>,
    p: &Projective<N>,
    q: &Affine<N>,
) -> Projective<N>
where
    Uint<N>: Invertible,
{
    let f = &c.f;
    let t0 = f.mul(&p.x, &q.x);
    let t1 = f.mul(&p.y, &q.y);
    let t2 = p.z;
    let t3 = f.sub(
        &f.sub(&f.mul(&f.add(&p.x, &p.y), &f.add(&q.x, &q.y)), &t0),
        &t1,
    );
    let t4 = f.add(&p.x, &f.mul(&q.x, &p.z));
    let t5 = f.add(&p.y, &f.mul(&q.y, &p.z));
    let m = f.add(&c.mul_a(&t4), &f.mul(&c.b3, &t2));
    let minus = f.sub(&t1, &m);
    let plus = f.add(&t1, &m);
    let at2 = c.mul_a(&t2);
    let u = f.add(&f.add(&f.dbl(&t0), &t0), &at2);
    let w = f.add(&c.mul_a(&f.sub(&t0, &at2)), &f.mul(&c.b3, &t4));
    let x3 = f.sub(&f.mul(&t3, &minus), &f.mul(&t5, &w));
    let y3 = f.add(&f.mul(&u, &w), &f.mul(&plus, &minus));
    let z3 = f.add(&f.mul(&t5, &plus), &f.mul(&t3, &u));
    Projective {
        x: x3,
        y: y3,
        z: z3,
    }
}

/// k·P for the base point P, constant time in k (k < 2^(64N), any value; k = 0 gives ∞).
pub(crate) fn base_mul_ct<const N: usize>(c: &Curve<N>, k: &[u64; N]) -> Projective<N>
where
    Uint<N>: Invertible,
{
    let f = &c.f;
    let mut acc = Projective {
        x: f.zero(),
        y: f.one,
        z: f.zero(),
    };
    for i in 0..CombTable::<N>::windows() {
        let d = (k[i / 16] >> ((i % 16) * 4)) & 0xf;
        let pt = c.table.select_ct(i, d);
        let sum = padd_mixed(c, &acc, &pt);
        acc.conditional_assign(&sum, !d.ct_eq(&0));
    }
    acc
}

/// The affine x of a projective point (∞ gives x = 0), constant time (Fermat inversion).
pub(crate) fn projective_x_ct<const N: usize>(c: &Curve<N>, p: &Projective<N>) -> Fe<N>
where
    Uint<N>: Invertible,
{
    let f = &c.f;
    f.mul(&p.x, &f.invert_ct(&p.z))
}

/// The affine point of a projective one (constant-time inversion); `None` at infinity.
pub(crate) fn projective_to_affine_ct<const N: usize>(
    c: &Curve<N>,
    p: &Projective<N>,
) -> Option<Affine<N>>
where
    Uint<N>: Invertible,
{
    let f = &c.f;
    if bool::from(f.is_zero(&p.z)) {
        return None;
    }
    let zi = f.invert_ct(&p.z);
    Some(Affine {
        x: f.mul(&p.x, &zi),
        y: f.mul(&p.y, &zi),
    })
}

/// Width-w NAF digits of k (2 ≤ w ≤ 8), least significant first: every non-zero digit is odd,
/// |d| < 2^(w−1), and any w consecutive digits hold at most one non-zero (variable time).
/// Reads w bits at a time, carrying into the next window (as libsecp256k1's `ecmult_wnaf`).
pub(crate) fn wnaf<const N: usize>(k: &Uint<N>, w: u32) -> Vec<i8> {
    let words = k.as_words();
    let len = 64 * N + 1;
    // bits i..i+n (n ≤ 8) of k; zero beyond its top
    let bits = |i: usize, n: usize| -> u64 {
        let lo = words.get(i / 64).map_or(0, |&x| x >> (i % 64));
        let hi = match (i % 64, words.get(i / 64 + 1)) {
            (0, _) | (_, None) => 0,
            (s, Some(&x)) => x << (64 - s),
        };
        (lo | hi) & ((1u64 << n) - 1)
    };
    let w = w as usize;
    let mut out = vec![0i8; len];
    let (mut carry, mut i, mut top) = (0u64, 0usize, 0usize);
    while i < len {
        if bits(i, 1) == carry {
            i += 1;
            continue;
        }
        let n = w.min(len - i);
        let mut digit = (bits(i, n) + carry) as i64;
        carry = ((digit >> (w - 1)) & 1) as u64;
        digit -= (carry as i64) << w;
        out[i] = digit as i8;
        top = i + 1;
        i += n;
    }
    out.truncate(top);
    out
}

/// Window width of the wNAF of u1 over the precomputed odd multiples of the base point.
pub(crate) const G_WINDOW: u32 = 8;
/// Window width of the wNAF of u2 over the odd multiples of the public key (computed per call).
const Q_WINDOW: u32 = 5;

/// The odd multiples P, 3P, …, (2^(w−1) − 1)P in affine form (one inversion); `None` for a point
/// of tiny order (never a valid key or base point).
pub(crate) fn odd_multiples<const N: usize>(
    c: &Curve<N>,
    p: &Affine<N>,
    w: u32,
) -> Option<Vec<Affine<N>>>
where
    Uint<N>: Invertible,
{
    let pj = Jacobian::from_affine(c, p);
    let p2 = jdbl(c, &pj);
    let mut odd = Vec::with_capacity(1 << (w - 2));
    odd.push(pj);
    for i in 1..(1usize << (w - 2)) {
        let next = jadd(c, &odd[i - 1], &p2);
        if next.is_infinity(c) {
            return None;
        }
        odd.push(next);
    }
    Some(batch_to_affine(c, &odd))
}

/// u1·P + u2·Q (variable time: public inputs only): Straus's interleaved method, one chain of
/// doublings for both scalars; width-8 wNAF of u1 over the curve's precomputed odd multiples of P,
/// width-5 wNAF of u2 over odd multiples of Q computed here.
pub(crate) fn double_mul_vartime<const N: usize>(
    c: &Curve<N>,
    u1: &Uint<N>,
    u2: &Uint<N>,
    q: &Affine<N>,
) -> Jacobian<N>
where
    Uint<N>: Invertible,
{
    let Some(odd) = odd_multiples(c, q, Q_WINDOW) else {
        // only for a point of tiny order (not a valid key): fall back to the plain method
        return jadd(c, &mul_generic_vartime(c, u2, q), &mul_comb_vartime(c, u1));
    };
    let naf1 = wnaf(u1, G_WINDOW);
    let naf2 = wnaf(u2, Q_WINDOW);
    let neg = |p: &Affine<N>| Affine {
        x: p.x,
        y: c.f.neg(&p.y),
    };
    let mut acc = Jacobian::infinity(c);
    for i in (0..naf1.len().max(naf2.len())).rev() {
        acc = jdbl(c, &acc);
        let d2 = naf2.get(i).copied().unwrap_or(0);
        if d2 > 0 {
            acc = jmadd(c, &acc, &odd[(d2 as usize) / 2]);
        } else if d2 < 0 {
            acc = jmadd(c, &acc, &neg(&odd[((-d2) as usize) / 2]));
        }
        let d1 = naf1.get(i).copied().unwrap_or(0);
        if d1 > 0 {
            acc = jmadd(c, &acc, &c.g_odd[(d1 as usize) / 2]);
        } else if d1 < 0 {
            acc = jmadd(c, &acc, &neg(&c.g_odd[((-d1) as usize) / 2]));
        }
    }
    acc
}

/// u·P through the comb table (variable time).
fn mul_comb_vartime<const N: usize>(c: &Curve<N>, u: &Uint<N>) -> Jacobian<N>
where
    Uint<N>: Invertible,
{
    let mut acc = Jacobian::infinity(c);
    let w = u.as_words();
    for i in 0..CombTable::<N>::windows() {
        let d = ((w[i / 16] >> ((i % 16) * 4)) & 0xf) as usize;
        if let Some(pt) = c.table.entry(i, d) {
            acc = jmadd(c, &acc, pt);
        }
    }
    acc
}

fn mul_generic_vartime<const N: usize>(c: &Curve<N>, k: &Uint<N>, q: &Affine<N>) -> Jacobian<N>
where
    Uint<N>: Invertible,
{
    mul_vartime(c, k, q)
}

/// k·Q by plain double-and-add (variable time; tests and checks).
pub(crate) fn mul_vartime<const N: usize>(c: &Curve<N>, k: &Uint<N>, q: &Affine<N>) -> Jacobian<N>
where
    Uint<N>: Invertible,
{
    let qj = Jacobian::from_affine(c, q);
    let mut acc = Jacobian::infinity(c);
    for i in (0..64 * N as u32).rev() {
        acc = jdbl(c, &acc);
        if k.bit_vartime(i) {
            acc = jadd(c, &acc, &qj);
        }
    }
    acc
}

/// q·P = ∞ and P ≠ ∞ for the base point (self-check of the constants).
#[cfg(test)]
pub(crate) fn order_check<const N: usize>(c: &Curve<N>) -> bool
where
    Uint<N>: Invertible,
{
    mul_vartime(c, c.q.as_ref(), &c.g).is_infinity(c)
        && !mul_vartime(c, &c.q.as_ref().wrapping_sub(&Uint::ONE), &c.g).is_infinity(c)
}

#[cfg(test)]
mod tests {
    use super::super::curve::{curve256, curve512};
    use super::super::gost3410::ParamSet;
    use super::*;

    fn agree<const N: usize>(c: &Curve<N>)
    where
        Uint<N>: Invertible,
    {
        let mut s = 0x1234_5678_9abc_def0u64 ^ N as u64;
        for _ in 0..8 {
            let mut w = [0u64; N];
            for x in w.iter_mut() {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *x = s;
            }
            let k = Uint::<N>::from_words(w);
            let slow = mul_vartime(c, &k, &c.g).to_affine(c);
            let ct = projective_to_affine_ct(c, &base_mul_ct(c, &w));
            assert_eq!(slow, ct);
            // double mul with Q = G: u1·G + u2·G = (u1+u2)·G
            let u2 = Uint::<N>::from_u64(12345);
            let both = double_mul_vartime(c, &k, &u2, &c.g).to_affine(c);
            let sum = mul_vartime(c, &k.wrapping_add(&u2), &c.g).to_affine(c);
            // (wrapping add may exceed 2^(64N) only with negligible probability for these seeds)
            assert_eq!(both, sum);
        }
        // k = 0 and k = q give infinity
        assert!(projective_to_affine_ct(c, &base_mul_ct(c, &[0u64; N])).is_none());
        let mut qw = [0u64; N];
        qw.copy_from_slice(c.q.as_ref().as_words());
        assert!(projective_to_affine_ct(c, &base_mul_ct(c, &qw)).is_none());
    }

    /// The value Σ d_i·2^i of wNAF digits (k < 2^512, so it fits a U1024).
    fn naf_value(naf: &[i8]) -> crypto_bigint::U1024 {
        use crypto_bigint::U1024;
        let (mut pos, mut neg) = (U1024::ZERO, U1024::ZERO);
        for (i, &d) in naf.iter().enumerate() {
            let v = U1024::from_u64(d.unsigned_abs() as u64).shl_vartime(i as u32);
            if d > 0 {
                pos = pos.wrapping_add(&v);
            } else if d < 0 {
                neg = neg.wrapping_add(&v);
            }
        }
        pos.wrapping_sub(&neg)
    }

    fn check_wnaf<const N: usize>(k: &Uint<N>) {
        for w in [2u32, 4, 5, 8] {
            let naf = wnaf(k, w);
            let mut want = [0u64; 16];
            want[..N].copy_from_slice(k.as_words());
            assert_eq!(
                naf_value(&naf),
                crypto_bigint::U1024::from_words(want),
                "w = {w}"
            );
            let mut last: Option<usize> = None;
            for (i, &d) in naf.iter().enumerate() {
                if d != 0 {
                    assert!(d % 2 != 0 && (d.unsigned_abs() as u32) < (1 << (w - 1)));
                    if let Some(l) = last {
                        assert!(i - l >= w as usize);
                    }
                    last = Some(i);
                }
            }
            assert!(naf.last().is_none_or(|&d| d != 0));
        }
    }

    #[test]
    fn wnaf_digits_are_valid() {
        let mut s = 0x0123_4567_89ab_cdefu64;
        for t in 0..300 {
            let mut w4 = [0u64; 4];
            let mut w8 = [0u64; 8];
            for x in w4.iter_mut().chain(w8.iter_mut()) {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *x = s ^ (s >> 33);
                if t % 5 == 0 {
                    *x = u64::MAX; // long runs of ones
                }
                if t % 7 == 0 {
                    *x &= 0xff00_0000_0000_00ff;
                }
            }
            check_wnaf(&Uint::<4>::from_words(w4));
            check_wnaf(&Uint::<8>::from_words(w8));
        }
        check_wnaf(&Uint::<4>::ZERO);
        check_wnaf(&Uint::<4>::ONE);
        check_wnaf(&Uint::<8>::MAX);
    }

    #[test]
    fn scalar_multiplications_agree() {
        for ps in ParamSet::ALL {
            if let Some(c) = curve256(ps) {
                agree(c);
            }
            if let Some(c) = curve512(ps) {
                agree(c);
            }
        }
    }
}
