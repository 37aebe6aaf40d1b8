//! Prime-field arithmetic for the GOST curves on fixed-size limbs (`N` = 4 for 256-bit, 8 for 512-bit
//! fields), backed by `crypto-bigint` for encoding and inversion.
//!
//! Two representations, chosen per field:
//! - pseudo-Mersenne primes p = 2^(64N) − c with small c (TC26 256 A/B, 512 A/B/C): elements are kept
//!   as plain residues and a product is reduced by folding the high half times c (about half the cost
//!   of a Montgomery reduction);
//! - every other prime: Montgomery form a·R mod p with R = 2^(64N) (CIOS multiplication).
//!
//! On x86-64 CPUs with BMI2 and ADX (checked once per field at run time), multiplication and
//! squaring for the two pseudo-Mersenne primes in use (2^256 − 617, 2^512 − 569) go through the
//! `mulx`/`adcx`/`adox` code in `field_asm4.rs` / `field_asm8.rs`; the portable code below is the
//! fallback and the reference the tests compare them with.
//!
//! Every operation here is constant time (no branches or indices depend on the values; the choice of
//! representation depends only on the public modulus). Elements are always fully reduced (< p).
#![allow(clippy::needless_range_loop, clippy::wrong_self_convention)] // limb arithmetic indexes arrays in lock-step
use crypto_bigint::modular::SafeGcdInverter;
use crypto_bigint::{Inverter, Odd, PrecomputeInverter, Uint};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

/// A field element (fully reduced; plain or Montgomery form depending on the field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fe<const N: usize>(pub(crate) [u64; N]);

impl<const N: usize> Default for Fe<N> {
    fn default() -> Self {
        Fe([0; N])
    }
}

impl<const N: usize> ConditionallySelectable for Fe<N> {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        let mut r = [0u64; N];
        for (i, ri) in r.iter_mut().enumerate() {
            *ri = u64::conditional_select(&a.0[i], &b.0[i], choice);
        }
        Fe(r)
    }
}

impl<const N: usize> ConstantTimeEq for Fe<N> {
    fn ct_eq(&self, other: &Self) -> Choice {
        let mut acc = 0u64;
        for i in 0..N {
            acc |= self.0[i] ^ other.0[i];
        }
        acc.ct_eq(&0)
    }
}

impl<const N: usize> zeroize::Zeroize for Fe<N> {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

#[inline(always)]
fn mac(acc: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = (acc as u128) + (a as u128) * (b as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

#[inline(always)]
fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = (a as u128) + (b as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

#[inline(always)]
fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = (a as u128).wrapping_sub((b as u128) + ((borrow >> 63) as u128));
    (t as u64, (t >> 64) as u64)
}

/// Inversion through crypto-bigint's Bernstein–Yang (safegcd) inverter, for the two limb counts used.
pub(crate) trait Invertible: Sized {
    /// `x^{-1} · adj mod m` in constant time; `None` (as a zero `Choice`) when x is not invertible.
    #[cfg_attr(not(test), allow(dead_code))]
    fn inv_adj(m: &Odd<Self>, adj: &Self, x: &Self) -> (Self, Choice);
    /// The same in variable time (for public values only).
    fn inv_adj_vartime(m: &Odd<Self>, adj: &Self, x: &Self) -> Option<Self>;
}

impl<const N: usize, const U: usize> Invertible for Uint<N>
where
    Odd<Uint<N>>: PrecomputeInverter<Inverter = SafeGcdInverter<N, U>, Output = Uint<N>>,
{
    fn inv_adj(m: &Odd<Self>, adj: &Self, x: &Self) -> (Self, Choice) {
        let inv = SafeGcdInverter::<N, U>::new(m, adj);
        let r = inv.invert(x);
        let ok = r.is_some();
        (r.unwrap_or(Uint::ZERO), ok)
    }
    fn inv_adj_vartime(m: &Odd<Self>, adj: &Self, x: &Self) -> Option<Self> {
        let inv = SafeGcdInverter::<N, U>::new(m, adj);
        Option::from(inv.invert_vartime(x))
    }
}

/// A prime field GF(p).
#[derive(Debug)]
pub(crate) struct Field<const N: usize> {
    /// The modulus, little-endian limbs.
    pub(crate) p: [u64; N],
    /// Non-zero when p = 2^(64N) − c (pseudo-Mersenne; plain representation).
    c: u64,
    /// Multiplication and squaring through the x86-64 BMI2/ADX code (c is the one it is built for
    /// and the CPU has the instructions).
    asm: bool,
    /// −p^{-1} mod 2^64 (Montgomery representation).
    n0: u64,
    /// R^2 mod p (Montgomery representation).
    r2: [u64; N],
    /// The representation of 1.
    pub(crate) one: Fe<N>,
    /// The modulus for crypto-bigint.
    modulus: Odd<Uint<N>>,
    /// The adjuster for inversion: 1 (plain) or R^2 (Montgomery) so that inverting a representation
    /// gives the representation of the inverse.
    inv_adj: Uint<N>,
}

impl<const N: usize> Field<N> {
    /// A field for the odd prime `p`. Returns `None` for an even modulus.
    pub(crate) fn new(p: Uint<N>) -> Option<Field<N>> {
        if N > 8 {
            return None; // the wide products use a 16-limb accumulator
        }
        let modulus: Odd<Uint<N>> = Option::from(Odd::new(p))?;
        let words = *p.as_words();
        let mut p_arr = [0u64; N];
        p_arr.copy_from_slice(&words);
        // pseudo-Mersenne: all limbs but the lowest are all-ones and c = 2^64 − p[0] is small.
        let pm = p_arr[1..].iter().all(|&w| w == u64::MAX) && p_arr[0] > u64::MAX - (1 << 32);
        let c = if pm { 0u64.wrapping_sub(p_arr[0]) } else { 0 };
        // n0 = −p^{-1} mod 2^64 by Newton iteration.
        let mut inv = 1u64;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(p_arr[0].wrapping_mul(inv)));
        }
        let n0 = inv.wrapping_neg();
        // R mod p and R^2 mod p through crypto-bigint.
        let nz = modulus.as_nz_ref();
        let r_mod_p = Uint::<N>::MAX.rem(nz).wrapping_add(&Uint::ONE).rem(nz); // 2^(64N) − 1 + 1
        let r2 = r_mod_p.mul_mod_vartime(&r_mod_p, nz);
        let mut r2_arr = [0u64; N];
        r2_arr.copy_from_slice(r2.as_words());
        let mut one = [0u64; N];
        if c != 0 {
            one[0] = 1;
        } else {
            one.copy_from_slice(r_mod_p.as_words());
        }
        let inv_adj = if c != 0 { Uint::ONE } else { r2 };
        Some(Field {
            p: p_arr,
            c,
            asm: asm_supported::<N>(c),
            n0,
            r2: r2_arr,
            one: Fe(one),
            modulus,
            inv_adj,
        })
    }

    /// a + b mod p.
    #[inline(always)]
    pub(crate) fn add(&self, a: &Fe<N>, b: &Fe<N>) -> Fe<N> {
        let mut s = [0u64; N];
        let mut carry = 0;
        for i in 0..N {
            (s[i], carry) = adc(a.0[i], b.0[i], carry);
        }
        self.sub_p_if_needed(s, carry)
    }

    /// Given s = value − carry·2^(64N) < 2p, returns value mod p.
    #[inline(always)]
    fn sub_p_if_needed(&self, s: [u64; N], carry: u64) -> Fe<N> {
        let mut t = [0u64; N];
        let mut borrow = 0;
        for i in 0..N {
            (t[i], borrow) = sbb(s[i], self.p[i], borrow);
        }
        // keep s only when no carry and the subtraction borrowed
        let (_, borrow) = sbb(carry, 0, borrow);
        // borrow is all-ones when s < p (with carry 0)
        let mut r = [0u64; N];
        for i in 0..N {
            r[i] = (s[i] & borrow) | (t[i] & !borrow);
        }
        Fe(r)
    }

    /// a − b mod p.
    #[inline(always)]
    pub(crate) fn sub(&self, a: &Fe<N>, b: &Fe<N>) -> Fe<N> {
        let mut d = [0u64; N];
        let mut borrow = 0;
        for i in 0..N {
            (d[i], borrow) = sbb(a.0[i], b.0[i], borrow);
        }
        let mut carry = 0;
        for i in 0..N {
            (d[i], carry) = adc(d[i], self.p[i] & borrow, carry);
        }
        Fe(d)
    }

    /// −a mod p.
    #[inline(always)]
    pub(crate) fn neg(&self, a: &Fe<N>) -> Fe<N> {
        self.sub(&Fe([0; N]), a)
    }

    /// 2a mod p.
    #[inline(always)]
    pub(crate) fn dbl(&self, a: &Fe<N>) -> Fe<N> {
        self.add(a, a)
    }

    /// a · b mod p.
    #[inline(always)]
    pub(crate) fn mul(&self, a: &Fe<N>, b: &Fe<N>) -> Fe<N> {
        if self.c != 0 {
            if self.asm
                && let Some(r) = asm_mul(a, b)
            {
                return r;
            }
            self.mul_pm(a, b)
        } else {
            self.mul_mont(a, b)
        }
    }

    /// a² mod p.
    #[inline(always)]
    pub(crate) fn sqr(&self, a: &Fe<N>) -> Fe<N> {
        if self.asm
            && let Some(r) = asm_sqr(a)
        {
            return r;
        }
        self.sqr_portable(a)
    }

    /// a² mod p without the x86-64 code.
    #[inline(always)]
    fn sqr_portable(&self, a: &Fe<N>) -> Fe<N> {
        if self.c != 0 {
            // measured (rustc 1.95, x86-64): the dedicated squaring pays off for 8 limbs only; for
            // 4 limbs the plain product is faster
            let (lo, hi) = if N >= 8 {
                sqr_wide(&a.0)
            } else {
                mul_wide(&a.0, &a.0)
            };
            self.reduce_pm(lo, hi)
        } else {
            self.mul_mont(a, a)
        }
    }

    /// Montgomery multiplication (CIOS).
    #[inline(always)]
    fn mul_mont(&self, a: &Fe<N>, b: &Fe<N>) -> Fe<N> {
        let mut t = [0u64; N];
        let mut t_n = 0u64;
        for i in 0..N {
            let mut c = 0;
            for j in 0..N {
                (t[j], c) = mac(t[j], a.0[j], b.0[i], c);
            }
            let (s, t_n1) = adc(t_n, c, 0);
            let m = t[0].wrapping_mul(self.n0);
            let (_, mut c) = mac(t[0], m, self.p[0], 0);
            for j in 1..N {
                (t[j - 1], c) = mac(t[j], m, self.p[j], c);
            }
            let (s2, c2) = adc(s, c, 0);
            t[N - 1] = s2;
            t_n = t_n1 + c2;
        }
        self.sub_p_if_needed(t, t_n)
    }

    /// Pseudo-Mersenne multiplication: full product, then fold.
    #[inline(always)]
    fn mul_pm(&self, a: &Fe<N>, b: &Fe<N>) -> Fe<N> {
        let (lo, hi) = mul_wide(&a.0, &b.0);
        self.reduce_pm(lo, hi)
    }

    /// (hi·2^(64N) + lo) mod p for p = 2^(64N) − c: hi·2^(64N) ≡ hi·c.
    #[inline(always)]
    fn reduce_pm(&self, lo: [u64; N], hi: [u64; N]) -> Fe<N> {
        let c = self.c;
        let mut r = [0u64; N];
        let mut carry = 0;
        for i in 0..N {
            (r[i], carry) = mac(lo[i], hi[i], c, carry);
        }
        // carry ≤ c; fold once more: r + carry·c, with an overflow bit k
        let (r0, mut k) = mac(r[0], carry, c, 0);
        r[0] = r0;
        for ri in r.iter_mut().skip(1) {
            (*ri, k) = adc(*ri, 0, k);
        }
        // the value is r + k·2^(64N). With k = 1, r < c² and the value ≡ r + c (no overflow, as
        // c < 2^32). With k = 0, r ≥ p exactly when r + c overflows, and then r − p = r + c − 2^(64N).
        // Either way: take t = r + c (mod 2^(64N)) when k or the carry out of r + c is set.
        let mut t = [0u64; N];
        let mut k3;
        (t[0], k3) = adc(r[0], c, 0);
        for i in 1..N {
            (t[i], k3) = adc(r[i], 0, k3);
        }
        let mask = (k | k3).wrapping_neg();
        for i in 0..N {
            r[i] = (t[i] & mask) | (r[i] & !mask);
        }
        Fe(r)
    }

    /// The representation of an integer < p (the caller checks the bound).
    pub(crate) fn from_uint(&self, x: &Uint<N>) -> Fe<N> {
        let mut a = [0u64; N];
        a.copy_from_slice(x.as_words());
        if self.c != 0 {
            Fe(a)
        } else {
            self.mul_mont(&Fe(a), &Fe(self.r2))
        }
    }

    /// The integer an element represents.
    pub(crate) fn to_uint(&self, a: &Fe<N>) -> Uint<N> {
        let v = if self.c != 0 {
            *a
        } else {
            let mut one = [0u64; N];
            one[0] = 1;
            self.mul_mont(a, &Fe(one))
        };
        Uint::from_words(v.0)
    }

    /// x < p for an integer.
    pub(crate) fn in_range(&self, x: &Uint<N>) -> bool {
        x < self.modulus.as_ref()
    }

    pub(crate) fn is_zero(&self, a: &Fe<N>) -> Choice {
        a.ct_eq(&Fe([0; N]))
    }

    pub(crate) fn zero(&self) -> Fe<N> {
        Fe([0; N])
    }
}

impl<const N: usize> Field<N>
where
    Uint<N>: Invertible,
{
    /// a^{-1} (0 maps to 0), constant time (slow in crypto-bigint 0.6: signing blinds instead).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn invert(&self, a: &Fe<N>) -> Fe<N> {
        let (r, _) = Uint::inv_adj(&self.modulus, &self.inv_adj, &Uint::from_words(a.0));
        Fe(*r.as_words())
    }

    /// a^{-1} = a^(p−2) (0 maps to 0) by Fermat's little theorem, constant time: the sequence of
    /// squarings and multiplications (4-bit fixed windows) depends only on the public modulus.
    /// About 64N squarings + 16N multiplications with this module's fast multiplication, which for
    /// these fields is cheaper than crypto-bigint 0.6's constant-time safegcd inverter.
    pub(crate) fn invert_ct(&self, a: &Fe<N>) -> Fe<N> {
        let mut e = self.p;
        // p − 2 (p is odd and > 2, so the low limb does not borrow past a set bit below 2)
        let (lo, mut borrow) = sbb(e[0], 2, 0);
        e[0] = lo;
        for w in e.iter_mut().skip(1) {
            (*w, borrow) = sbb(*w, 0, borrow);
        }
        let mut table = [self.one; 16];
        for i in 1..16 {
            table[i] = self.mul(&table[i - 1], a);
        }
        let mut r = self.one;
        for i in (0..16 * N).rev() {
            if i != 16 * N - 1 {
                for _ in 0..4 {
                    r = self.sqr(&r);
                }
            }
            // the exponent is public: branching on its digits leaks nothing about a
            let d = ((e[i / 16] >> ((i % 16) * 4)) & 0xf) as usize;
            if d != 0 {
                r = self.mul(&r, &table[d]);
            }
        }
        table.zeroize();
        r
    }

    /// a^{-1} (0 maps to 0), variable time: public values only.
    pub(crate) fn invert_vartime(&self, a: &Fe<N>) -> Fe<N> {
        match Uint::inv_adj_vartime(&self.modulus, &self.inv_adj, &Uint::from_words(a.0)) {
            Some(r) => Fe(*r.as_words()),
            None => Fe([0; N]),
        }
    }
}

/// The pseudo-Mersenne c that `field_asm4` (N = 4) and `field_asm8` (N = 8) are built for.
const ASM4_C: u64 = 617;
const ASM8_C: u64 = 569;

/// Whether the x86-64 code serves a field with N limbs and this c on this CPU.
fn asm_supported<const N: usize>(c: u64) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        ((N == 4 && c == ASM4_C) || (N == 8 && c == ASM8_C))
            && std::arch::is_x86_feature_detected!("bmi2")
            && std::arch::is_x86_feature_detected!("adx")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = c;
        false
    }
}

/// The N-limb value of an M-limb array (N = M: the callers check).
#[inline(always)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn to_fe<const N: usize, const M: usize>(r: [u64; M]) -> Option<Fe<N>> {
    let mut out = [0u64; N];
    out.as_mut_slice().copy_from_slice(r.get(..N)?);
    Some(Fe(out))
}

/// a·b through the x86-64 code (only called when `asm_supported`); `None` for another N.
#[inline(always)]
fn asm_mul<const N: usize>(a: &Fe<N>, b: &Fe<N>) -> Option<Fe<N>> {
    #[cfg(target_arch = "x86_64")]
    {
        if N == 4 {
            let (a, b) = (
                a.0.as_slice().try_into().ok()?,
                b.0.as_slice().try_into().ok()?,
            );
            return to_fe(super::field_asm4::mul::<ASM4_C>(a, b));
        }
        if N == 8 {
            let (a, b) = (
                a.0.as_slice().try_into().ok()?,
                b.0.as_slice().try_into().ok()?,
            );
            return to_fe(super::field_asm8::mul::<ASM8_C>(a, b));
        }
    }
    let _ = (a, b);
    None
}

/// a² through the x86-64 code (only called when `asm_supported`); `None` for another N.
#[inline(always)]
fn asm_sqr<const N: usize>(a: &Fe<N>) -> Option<Fe<N>> {
    #[cfg(target_arch = "x86_64")]
    {
        if N == 4 {
            return to_fe(super::field_asm4::sqr::<ASM4_C>(
                a.0.as_slice().try_into().ok()?,
            ));
        }
        if N == 8 {
            return to_fe(super::field_asm8::sqr::<ASM8_C>(
                a.0.as_slice().try_into().ok()?,
            ));
        }
    }
    let _ = a;
    None
}

/// Schoolbook product, split into low and high halves (a flat 2N-limb accumulator: N ≤ 8).
#[inline(always)]
fn mul_wide<const N: usize>(a: &[u64; N], b: &[u64; N]) -> ([u64; N], [u64; N]) {
    let mut t = [0u64; 16];
    for i in 0..N {
        let mut c = 0;
        for j in 0..N {
            (t[i + j], c) = mac(t[i + j], a[j], b[i], c);
        }
        t[i + N] = c;
    }
    split(&t)
}

/// Squaring: cross products once, doubled, plus the squares (flat accumulator, N ≤ 8).
#[inline(always)]
fn sqr_wide<const N: usize>(a: &[u64; N]) -> ([u64; N], [u64; N]) {
    let mut t = [0u64; 16];
    for i in 0..N {
        let mut c = 0;
        for j in (i + 1)..N {
            (t[i + j], c) = mac(t[i + j], a[j], a[i], c);
        }
        t[i + N] = c;
    }
    let mut top = 0u64;
    for k in 0..2 * N {
        let v = t[k];
        t[k] = (v << 1) | top;
        top = v >> 63;
    }
    let mut c = 0;
    for i in 0..N {
        let (sl, sh) = mac(0, a[i], a[i], 0);
        (t[2 * i], c) = adc(t[2 * i], sl, c);
        (t[2 * i + 1], c) = adc(t[2 * i + 1], sh, c);
    }
    split(&t)
}

#[inline(always)]
fn split<const N: usize>(t: &[u64; 16]) -> ([u64; N], [u64; N]) {
    let mut lo = [0u64; N];
    let mut hi = [0u64; N];
    lo.copy_from_slice(&t[..N]);
    hi.copy_from_slice(&t[N..2 * N]);
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_bigint::{NonZero, U256, U512};

    fn check<const N: usize>(p: Uint<N>, seed: u64)
    where
        Uint<N>: Invertible,
    {
        let Some(f) = Field::new(p) else {
            unreachable!()
        };
        let Some(nz) = Option::<NonZero<Uint<N>>>::from(NonZero::new(p)) else {
            unreachable!()
        };
        let mut s = seed;
        let mut rnd = || {
            let mut w = [0u64; N];
            for x in w.iter_mut() {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *x = s ^ (s >> 29);
            }
            Uint::<N>::from_words(w).rem(&nz)
        };
        for _ in 0..200 {
            let (x, y) = (rnd(), rnd());
            let (a, b) = (f.from_uint(&x), f.from_uint(&y));
            assert_eq!(f.to_uint(&a), x);
            assert_eq!(f.to_uint(&f.mul(&a, &b)), x.mul_mod_vartime(&y, &nz));
            assert_eq!(f.to_uint(&f.sqr(&a)), x.mul_mod_vartime(&x, &nz));
            assert_eq!(f.to_uint(&f.add(&a, &b)), x.add_mod(&y, &p));
            assert_eq!(f.to_uint(&f.sub(&a, &b)), x.sub_mod(&y, &p));
            let ia = f.invert(&a);
            assert_eq!(f.mul(&a, &ia), f.one);
            assert_eq!(f.invert_vartime(&a), ia);
            assert_eq!(f.invert_ct(&a), ia);
        }
        // the x86-64 code (where it serves this field) against the portable code, including
        // inputs near p and 2^(64N)
        let mut edge = p.wrapping_sub(&Uint::ONE);
        for i in 0..2000u64 {
            let (x, y) = (rnd(), rnd());
            let (a, b) = match i % 4 {
                0 => (Fe(*x.as_words()), Fe(*y.as_words())),
                1 => (Fe(*edge.as_words()), Fe(*y.as_words())),
                2 => (Fe(*edge.as_words()), Fe(*edge.as_words())),
                _ => (Fe([u64::MAX; N]), Fe(*x.as_words())),
            };
            edge = edge.wrapping_sub(&Uint::ONE);
            if f.c != 0 {
                assert_eq!(f.mul(&a, &b), f.mul_pm(&a, &b));
            }
            assert_eq!(f.sqr(&a), f.sqr_portable(&a));
            assert_eq!(f.sqr(&b), f.sqr_portable(&b));
        }
        assert_eq!(f.invert_ct(&f.zero()), f.zero());
        assert_eq!(f.invert_ct(&f.one), f.one);
        // edge: p − 1 squared
        let pm1 = p.wrapping_sub(&Uint::ONE);
        let a = f.from_uint(&pm1);
        assert_eq!(f.to_uint(&f.sqr(&a)), Uint::ONE);
        assert_eq!(f.to_uint(&f.mul(&a, &a)), Uint::ONE);
        assert_eq!(f.to_uint(&f.add(&a, &a)), pm1.wrapping_sub(&Uint::ONE));
    }

    #[test]
    fn x86_code_is_used_where_available() {
        let p =
            U256::from_be_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97");
        let Some(f) = Field::new(p) else {
            unreachable!()
        };
        assert_eq!(f.asm, asm_supported::<4>(617));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            f.asm,
            std::arch::is_x86_feature_detected!("bmi2")
                && std::arch::is_x86_feature_detected!("adx")
        );
    }

    #[test]
    fn field_arithmetic_matches_crypto_bigint() {
        // pseudo-Mersenne
        check(
            U256::from_be_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97"),
            1,
        );
        check(
            U512::from_be_hex(
                "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7",
            ),
            2,
        );
        // Montgomery
        check(
            U256::from_be_hex("8000000000000000000000000000000000000000000000000000000000000431"),
            3,
        );
        check(
            U256::from_be_hex("9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D759B"),
            4,
        );
        check(
            U512::from_be_hex(
                "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DF1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373",
            ),
            5,
        );
    }
}
