//! GOST R 34.10-2012 signatures (256- and 512-bit), on `crypto-bigint`.
//!
//! Byte orders (see docs/CRYPTO.md): public keys are LE(X)‖LE(Y) as in certificates; signatures are
//! s‖r, each big-endian; the digest bytes are read as a little-endian integer e (e = 1 when e ≡ 0 mod q).
#![allow(clippy::needless_range_loop, clippy::wrong_self_convention)] // limb arithmetic indexes arrays in lock-step
use crypto_bigint::modular::MontyForm;
use crypto_bigint::{Uint, Zero};
use zeroize::Zeroize;

use super::curve::{Curve, curve256, curve512};
use super::ec::{self, Affine};
use super::error::{CryptoError, CryptoResult};
use super::field::{Fe, Invertible};

/// A GOST R 34.10-2012 elliptic-curve parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamSet {
    Tc26_256A,
    Tc26_256B,
    Tc26_256C,
    Tc26_256D,
    Test256,
    Tc26_512A,
    Tc26_512B,
    Tc26_512C,
    Test512,
}

impl ParamSet {
    /// Accepts TC26 OIDs and the CryptoPro A/B/C and XchA/XchB aliases (1.2.643.2.2.35.x,
    /// 1.2.643.2.2.36.x) and the test-set OIDs.
    pub fn from_oid(oid: &str) -> Option<ParamSet> {
        Some(match oid {
            "1.2.643.7.1.2.1.1.1" => ParamSet::Tc26_256A,
            "1.2.643.7.1.2.1.1.2" | "1.2.643.2.2.35.1" | "1.2.643.2.2.36.0" => ParamSet::Tc26_256B,
            "1.2.643.7.1.2.1.1.3" | "1.2.643.2.2.35.2" => ParamSet::Tc26_256C,
            "1.2.643.7.1.2.1.1.4" | "1.2.643.2.2.35.3" | "1.2.643.2.2.36.1" => ParamSet::Tc26_256D,
            "1.2.643.2.2.35.0" => ParamSet::Test256,
            "1.2.643.7.1.2.1.2.1" => ParamSet::Tc26_512A,
            "1.2.643.7.1.2.1.2.2" => ParamSet::Tc26_512B,
            "1.2.643.7.1.2.1.2.3" => ParamSet::Tc26_512C,
            "1.2.643.7.1.2.1.2.0" => ParamSet::Test512,
            _ => return None,
        })
    }

    /// The canonical (TC26) OID of the parameter set.
    pub fn oid(self) -> &'static str {
        match self {
            ParamSet::Tc26_256A => "1.2.643.7.1.2.1.1.1",
            ParamSet::Tc26_256B => "1.2.643.7.1.2.1.1.2",
            ParamSet::Tc26_256C => "1.2.643.7.1.2.1.1.3",
            ParamSet::Tc26_256D => "1.2.643.7.1.2.1.1.4",
            ParamSet::Test256 => "1.2.643.2.2.35.0",
            ParamSet::Tc26_512A => "1.2.643.7.1.2.1.2.1",
            ParamSet::Tc26_512B => "1.2.643.7.1.2.1.2.2",
            ParamSet::Tc26_512C => "1.2.643.7.1.2.1.2.3",
            ParamSet::Test512 => "1.2.643.7.1.2.1.2.0",
        }
    }

    /// All parameter sets.
    pub const ALL: [ParamSet; 9] = [
        ParamSet::Tc26_256A,
        ParamSet::Tc26_256B,
        ParamSet::Tc26_256C,
        ParamSet::Tc26_256D,
        ParamSet::Test256,
        ParamSet::Tc26_512A,
        ParamSet::Tc26_512B,
        ParamSet::Tc26_512C,
        ParamSet::Test512,
    ];

    /// True for the 512-bit sets.
    pub fn is_512(self) -> bool {
        matches!(
            self,
            ParamSet::Tc26_512A | ParamSet::Tc26_512B | ParamSet::Tc26_512C | ParamSet::Test512
        )
    }

    /// Bytes of a coordinate, of s and of r: 32 or 64.
    pub fn size(self) -> usize {
        if self.is_512() { 64 } else { 32 }
    }

    /// Streebog-256 1.2.643.7.1.1.2.2 or Streebog-512 1.2.643.7.1.1.2.3.
    pub fn digest_oid(self) -> &'static str {
        if self.is_512() {
            "1.2.643.7.1.1.2.3"
        } else {
            "1.2.643.7.1.1.2.2"
        }
    }

    /// Signature-with-digest OID: 1.2.643.7.1.1.3.2 / 1.2.643.7.1.1.3.3.
    pub fn signature_oid(self) -> &'static str {
        if self.is_512() {
            "1.2.643.7.1.1.3.3"
        } else {
            "1.2.643.7.1.1.3.2"
        }
    }

    /// Public key algorithm OID: 1.2.643.7.1.1.1.1 / 1.2.643.7.1.1.1.2.
    pub fn public_key_oid(self) -> &'static str {
        if self.is_512() {
            "1.2.643.7.1.1.1.2"
        } else {
            "1.2.643.7.1.1.1.1"
        }
    }

    /// The Streebog digest matching the key size (256 or 512), as raw hash output bytes.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        if self.is_512() {
            super::streebog::streebog512(data).to_vec()
        } else {
            super::streebog::streebog256(data).to_vec()
        }
    }
}

fn no_curve(ps: ParamSet) -> CryptoError {
    CryptoError::Malformed(format!("parameter set {ps:?} is not available"))
}

/// Little-endian bytes (exactly N·8 of them) as an integer.
fn le_to_uint<const N: usize>(b: &[u8]) -> Option<Uint<N>> {
    if b.len() != N * 8 {
        return None;
    }
    let mut w = [0u64; N];
    for (i, chunk) in b.chunks_exact(8).enumerate() {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        w[i] = u64::from_le_bytes(a);
    }
    Some(Uint::from_words(w))
}

/// Big-endian bytes (exactly N·8 of them) as an integer.
fn be_to_uint<const N: usize>(b: &[u8]) -> Option<Uint<N>> {
    if b.len() != N * 8 {
        return None;
    }
    let mut le = b.to_vec();
    le.reverse();
    let r = le_to_uint(&le);
    le.zeroize();
    r
}

fn uint_to_le<const N: usize>(u: &Uint<N>) -> Vec<u8> {
    u.as_words().iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn uint_to_be<const N: usize>(u: &Uint<N>) -> Vec<u8> {
    let mut v = uint_to_le(u);
    v.reverse();
    v
}

/// e = (digest as a little-endian integer) mod q, and 1 when that is 0.
fn digest_to_e<const N: usize>(c: &Curve<N>, digest: &[u8]) -> CryptoResult<MontyForm<N>> {
    let Some(e) = le_to_uint::<N>(digest) else {
        return Err(CryptoError::Malformed(format!(
            "digest for {:?} must be {} bytes, got {}",
            c.ps,
            N * 8,
            digest.len()
        )));
    };
    // MontyForm::new reduces any value < 2^(64N) modulo q.
    let e = MontyForm::new(&e, c.q_params);
    // the digest is public: a branch is fine
    if bool::from(e.retrieve().is_zero()) {
        Ok(MontyForm::one(c.q_params))
    } else {
        Ok(e)
    }
}

fn point_from_le<const N: usize>(c: &Curve<N>, b: &[u8]) -> CryptoResult<Affine<N>> {
    let size = N * 8;
    if b.len() != 2 * size {
        return Err(CryptoError::Malformed(format!(
            "a {:?} public key is {} bytes (LE(X)‖LE(Y)), got {}",
            c.ps,
            2 * size,
            b.len()
        )));
    }
    let (Some(x), Some(y)) = (le_to_uint::<N>(&b[..size]), le_to_uint::<N>(&b[size..])) else {
        return Err(CryptoError::Malformed("public key coordinates".into()));
    };
    if !c.f.in_range(&x) || !c.f.in_range(&y) {
        return Err(CryptoError::Malformed(
            "public key coordinate is not below the field modulus".into(),
        ));
    }
    let pt = Affine {
        x: c.f.from_uint(&x),
        y: c.f.from_uint(&y),
    };
    if !c.is_on_curve(&pt) {
        return Err(CryptoError::Malformed(format!(
            "public key is not a point of the {:?} curve",
            c.ps
        )));
    }
    Ok(pt)
}

fn point_to_le<const N: usize>(c: &Curve<N>, pt: &Affine<N>) -> Vec<u8> {
    let mut v = uint_to_le(&c.f.to_uint(&pt.x));
    v.extend(uint_to_le(&c.f.to_uint(&pt.y)));
    v
}

fn verify_generic<const N: usize>(
    c: &Curve<N>,
    q: &Affine<N>,
    digest: &[u8],
    sig: &[u8],
) -> CryptoResult<()>
where
    Uint<N>: Invertible,
{
    let size = N * 8;
    if sig.len() != 2 * size {
        return Err(CryptoError::Malformed(format!(
            "a {:?} signature is {} bytes (s‖r), got {}",
            c.ps,
            2 * size,
            sig.len()
        )));
    }
    let e = digest_to_e(c, digest)?;
    let (Some(s), Some(r)) = (be_to_uint::<N>(&sig[..size]), be_to_uint::<N>(&sig[size..])) else {
        return Err(CryptoError::Malformed("signature".into()));
    };
    let qn = c.q.as_ref();
    if bool::from(r.is_zero()) || bool::from(s.is_zero()) || &r >= qn || &s >= qn {
        return Err(CryptoError::BadSignature("r or s is outside 1..q-1".into()));
    }
    // v = e^{-1} mod q
    let Some(v) = Uint::inv_adj_vartime(&c.q, &Uint::ONE, &e.retrieve()) else {
        return Err(CryptoError::BadSignature("digest not invertible".into()));
    };
    let v = MontyForm::new(&v, c.q_params);
    let z1 = MontyForm::new(&s, c.q_params).mul(&v).retrieve();
    let z2 = MontyForm::new(&r, c.q_params).neg().mul(&v).retrieve();
    // C = z1·P + z2·Q as a fraction x(C) = num/den (den = 0 for the point at infinity)
    let f = &c.f;
    let edwards =
        c.ed.as_ref()
            .and_then(|ed| Some((ed, ed.double_mul_vartime(f, &z1, &z2, q)?)));
    let (num, den) = match edwards {
        Some((ed, point)) => ed.weierstrass_x_fraction(f, &point),
        None => {
            let point = ec::double_mul_vartime(c, &z1, &z2, q);
            (point.x, f.sqr(&point.z))
        }
    };
    if bool::from(f.is_zero(&den)) {
        return Err(CryptoError::BadSignature(
            "signature does not verify".into(),
        ));
    }
    // x(C) mod q == r  ⇔  num = t·den for some t ≡ r (mod q), t < p
    let mut t = r;
    loop {
        if t >= c.p_uint {
            break;
        }
        if f.mul(&f.from_uint(&t), &den) == num {
            return Ok(());
        }
        let (next, carry) = t.adc(qn, crypto_bigint::Limb::ZERO);
        if carry != crypto_bigint::Limb::ZERO {
            break;
        }
        t = next;
    }
    Err(CryptoError::BadSignature(
        "signature does not verify".into(),
    ))
}

/// A random scalar in 1..q−1 from the OS generator (rejection sampling).
fn random_scalar<const N: usize>(c: &Curve<N>) -> CryptoResult<[u64; N]> {
    random_below(c.q.as_ref(), c.q_bits)
}

/// A uniformly random integer in 1..m−1 (m has `bits` bits), rejection sampling.
fn random_below<const N: usize>(m: &Uint<N>, bits: u32) -> CryptoResult<[u64; N]> {
    let mut bytes = vec![0u8; N * 8];
    for _ in 0..1000 {
        getrandom::fill(&mut bytes)
            .map_err(|e| CryptoError::Malformed(format!("the OS random generator failed: {e}")))?;
        let Some(mut k) = le_to_uint::<N>(&bytes) else {
            break;
        };
        let excess = 64 * N as u32 - bits;
        k = k.shr_vartime(excess);
        let ok = !bool::from(k.is_zero()) && &k < m;
        if ok {
            bytes.zeroize();
            let mut w = [0u64; N];
            w.copy_from_slice(k.as_words());
            k.zeroize();
            return Ok(w);
        }
        k.zeroize();
    }
    bytes.zeroize();
    Err(CryptoError::Malformed(
        "could not draw a random scalar".into(),
    ))
}

fn sign_generic<const N: usize>(c: &Curve<N>, d: &[u64; N], digest: &[u8]) -> CryptoResult<Vec<u8>>
where
    Uint<N>: Invertible,
{
    let e = digest_to_e(c, digest)?;
    let dm = MontyForm::new(&Uint::from_words(*d), c.q_params);
    for _ in 0..100 {
        let mut k = random_scalar(c)?;
        let x = base_mul_x_ct(c, &k);
        let r = MontyForm::new(&c.f.to_uint(&x), c.q_params);
        let km = MontyForm::new(&Uint::from_words(k), c.q_params);
        k.zeroize();
        let s = r.mul(&dm).add(&km.mul(&e)).retrieve();
        let r = r.retrieve();
        // r and s are public (they are the signature)
        if bool::from(r.is_zero()) || bool::from(s.is_zero()) {
            continue;
        }
        let mut out = uint_to_be(&s);
        out.extend(uint_to_be(&r));
        return Ok(out);
    }
    Err(CryptoError::Malformed(
        "could not produce a signature".into(),
    ))
}

fn public_generic<const N: usize>(c: &Curve<N>, d: &[u64; N]) -> CryptoResult<Option<Affine<N>>>
where
    Uint<N>: Invertible,
{
    if let Some(ed) = &c.ed {
        let mut p = ed.base_mul_ct(&c.f, d);
        let a = ed.to_weierstrass_ct(&c.f, &p);
        p.zeroize();
        return Ok(a);
    }
    let mut p = ec::base_mul_ct(c, d);
    let a = ec::projective_to_affine_ct(c, &p);
    p.zeroize();
    Ok(a)
}

/// The affine x of k·P, constant time in k (comb with constant-time table reads, complete
/// additions, Fermat inversion); 0 when k·P = ∞ (never for 0 < k < q). The twisted Edwards sets
/// compute in their Edwards model, the others in Weierstrass form.
fn base_mul_x_ct<const N: usize>(c: &Curve<N>, k: &[u64; N]) -> Fe<N>
where
    Uint<N>: Invertible,
{
    if let Some(ed) = &c.ed {
        let mut p = ed.base_mul_ct(&c.f, k);
        let x = ed.weierstrass_x_ct(&c.f, &p);
        p.zeroize();
        x
    } else {
        let mut p = ec::base_mul_ct(c, k);
        let x = ec::projective_x_ct(c, &p);
        p.zeroize();
        x
    }
}

/// Checks 0 < d < q; returns the limbs.
fn scalar_from_uint<const N: usize>(c: &Curve<N>, mut d: Uint<N>) -> CryptoResult<[u64; N]> {
    let ok = !bool::from(d.is_zero()) && &d < c.q.as_ref();
    let mut w = [0u64; N];
    w.copy_from_slice(d.as_words());
    d.zeroize();
    if ok {
        Ok(w)
    } else {
        w.zeroize();
        Err(CryptoError::Malformed(
            "private key is not in 1..q-1".into(),
        ))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Point {
    P256(Affine<4>),
    P512(Affine<8>),
}

/// A GOST R 34.10-2012 public key (a curve point).
#[derive(Clone, Debug, PartialEq)]
pub struct PublicKey {
    ps: ParamSet,
    point: Point,
}

impl PublicKey {
    /// From LE(X)‖LE(Y), as in the certificate's OCTET STRING; checks the point is on the curve.
    pub fn from_le_bytes(ps: ParamSet, le_x_le_y: &[u8]) -> CryptoResult<PublicKey> {
        let point = if ps.is_512() {
            Point::P512(point_from_le(
                curve512(ps).ok_or_else(|| no_curve(ps))?,
                le_x_le_y,
            )?)
        } else {
            Point::P256(point_from_le(
                curve256(ps).ok_or_else(|| no_curve(ps))?,
                le_x_le_y,
            )?)
        };
        Ok(PublicKey { ps, point })
    }

    /// LE(X)‖LE(Y).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match &self.point {
            Point::P256(p) => curve256(self.ps)
                .map(|c| point_to_le(c, p))
                .unwrap_or_default(),
            Point::P512(p) => curve512(self.ps)
                .map(|c| point_to_le(c, p))
                .unwrap_or_default(),
        }
    }

    pub fn param_set(&self) -> ParamSet {
        self.ps
    }

    /// `digest` = raw Streebog output bytes as the hash function returns them (read as a
    /// little-endian integer); `sig` = s‖r big-endian, 2*size bytes (as OpenSSL and CMS carry it).
    pub fn verify_digest(&self, digest: &[u8], sig: &[u8]) -> CryptoResult<()> {
        match &self.point {
            Point::P256(p) => verify_generic(
                curve256(self.ps).ok_or_else(|| no_curve(self.ps))?,
                p,
                digest,
                sig,
            ),
            Point::P512(p) => verify_generic(
                curve512(self.ps).ok_or_else(|| no_curve(self.ps))?,
                p,
                digest,
                sig,
            ),
        }
    }
}

enum Secret {
    S256([u64; 4]),
    S512([u64; 8]),
}

/// A GOST R 34.10-2012 private key; zeroized on drop; `Debug` prints no secret.
pub struct PrivateKey {
    ps: ParamSet,
    d: Secret,
    public: PublicKey,
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        match &mut self.d {
            Secret::S256(w) => w.zeroize(),
            Secret::S512(w) => w.zeroize(),
        }
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("param_set", &self.ps)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// A fresh key from the OS random generator.
    pub fn generate(ps: ParamSet) -> CryptoResult<PrivateKey> {
        if ps.is_512() {
            let c = curve512(ps).ok_or_else(|| no_curve(ps))?;
            Self::from_words512(ps, c, random_scalar(c)?)
        } else {
            let c = curve256(ps).ok_or_else(|| no_curve(ps))?;
            Self::from_words256(ps, c, random_scalar(c)?)
        }
    }

    fn from_words256(ps: ParamSet, c: &Curve<4>, mut d: [u64; 4]) -> CryptoResult<PrivateKey> {
        let Some(p) = public_generic(c, &d)? else {
            d.zeroize();
            return Err(CryptoError::Malformed(
                "private key gives the point at infinity".into(),
            ));
        };
        Ok(PrivateKey {
            ps,
            d: Secret::S256(d),
            public: PublicKey {
                ps,
                point: Point::P256(p),
            },
        })
    }

    fn from_words512(ps: ParamSet, c: &Curve<8>, mut d: [u64; 8]) -> CryptoResult<PrivateKey> {
        let Some(p) = public_generic(c, &d)? else {
            d.zeroize();
            return Err(CryptoError::Malformed(
                "private key gives the point at infinity".into(),
            ));
        };
        Ok(PrivateKey {
            ps,
            d: Secret::S512(d),
            public: PublicKey {
                ps,
                point: Point::P512(p),
            },
        })
    }

    /// d as a big-endian integer of exactly `size()` bytes.
    pub fn from_be_bytes(ps: ParamSet, d: &[u8]) -> CryptoResult<PrivateKey> {
        let mut le = d.to_vec();
        le.reverse();
        let r = Self::from_le_bytes(ps, &le);
        le.zeroize();
        r
    }

    /// d as a little-endian integer of exactly `size()` bytes (as OpenSSL's GOST engine stores it).
    pub fn from_le_bytes(ps: ParamSet, d: &[u8]) -> CryptoResult<PrivateKey> {
        let bad_len = || {
            CryptoError::Malformed(format!(
                "a {ps:?} private key is {} bytes, got {}",
                ps.size(),
                d.len()
            ))
        };
        if ps.is_512() {
            let c = curve512(ps).ok_or_else(|| no_curve(ps))?;
            let w = scalar_from_uint(c, le_to_uint::<8>(d).ok_or_else(bad_len)?)?;
            Self::from_words512(ps, c, w)
        } else {
            let c = curve256(ps).ok_or_else(|| no_curve(ps))?;
            let w = scalar_from_uint(c, le_to_uint::<4>(d).ok_or_else(bad_len)?)?;
            Self::from_words256(ps, c, w)
        }
    }

    /// d as little-endian bytes (secret: the caller zeroizes).
    pub fn to_le_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(match &self.d {
            Secret::S256(w) => w.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Secret::S512(w) => w.iter().flat_map(|x| x.to_le_bytes()).collect(),
        })
    }

    pub fn param_set(&self) -> ParamSet {
        self.ps
    }

    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// s‖r big-endian; k from the OS random generator; constant time in d and k.
    pub fn sign_digest(&self, digest: &[u8]) -> CryptoResult<Vec<u8>> {
        match &self.d {
            Secret::S256(d) => sign_generic(
                curve256(self.ps).ok_or_else(|| no_curve(self.ps))?,
                d,
                digest,
            ),
            Secret::S512(d) => sign_generic(
                curve512(self.ps).ok_or_else(|| no_curve(self.ps))?,
                d,
                digest,
            ),
        }
    }

    /// Signing with a given k (the standard's worked examples); not constant time in the retry path.
    #[cfg(test)]
    pub(crate) fn sign_digest_with_k(&self, digest: &[u8], k_be: &[u8]) -> CryptoResult<Vec<u8>> {
        fn go<const N: usize>(
            c: &Curve<N>,
            d: &[u64; N],
            digest: &[u8],
            k_be: &[u8],
        ) -> CryptoResult<Vec<u8>>
        where
            Uint<N>: Invertible,
        {
            let e = digest_to_e(c, digest)?;
            let k = be_to_uint::<N>(k_be).ok_or_else(|| CryptoError::Malformed("k".into()))?;
            let mut kw = [0u64; N];
            kw.copy_from_slice(k.as_words());
            let x = base_mul_x_ct(c, &kw);
            let r = MontyForm::new(&c.f.to_uint(&x), c.q_params);
            let dm = MontyForm::new(&Uint::from_words(*d), c.q_params);
            let s = r
                .mul(&dm)
                .add(&MontyForm::new(&k, c.q_params).mul(&e))
                .retrieve();
            let mut out = uint_to_be(&s);
            out.extend(uint_to_be(&r.retrieve()));
            Ok(out)
        }
        match &self.d {
            Secret::S256(d) => go(
                curve256(self.ps).ok_or_else(|| no_curve(self.ps))?,
                d,
                digest,
                k_be,
            ),
            Secret::S512(d) => go(
                curve512(self.ps).ok_or_else(|| no_curve(self.ps))?,
                d,
                digest,
                k_be,
            ),
        }
    }
}

#[cfg(test)]
#[path = "gost3410_tests.rs"]
mod tests;
