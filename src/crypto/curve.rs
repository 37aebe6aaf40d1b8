//! GOST R 34.10-2012 curve parameter sets (RFC 7836, RFC 4357, the standard's test sets), in
//! short Weierstrass form y² = x³ + ax + b over GF(p), base point P of prime order q.
//!
//! TC26 256 A and 512 C are twisted Edwards curves; the standard publishes their Weierstrass form,
//! which is what certificates and OpenSSL carry, and what is used here.
#![allow(clippy::needless_range_loop, clippy::wrong_self_convention)] // limb arithmetic indexes arrays in lock-step
use std::sync::OnceLock;

use crypto_bigint::modular::MontyParams;
use crypto_bigint::{Odd, Uint};

use super::ec::{Affine, CombTable, G_WINDOW, odd_multiples};
use super::edwards::Edwards;
use super::field::{Fe, Field, Invertible};
use super::gost3410::ParamSet;

/// Hex parameters of one set: p, a, b, q, x, y (big-endian, any length up to the field size).
pub(crate) struct RawParams {
    pub(crate) p: &'static str,
    pub(crate) a: &'static str,
    pub(crate) b: &'static str,
    pub(crate) q: &'static str,
    pub(crate) x: &'static str,
    pub(crate) y: &'static str,
}

/// The published constants of each parameter set.
pub(crate) fn raw_params(ps: ParamSet) -> RawParams {
    match ps {
        // id-GostR3410-2001-TestParamSet (GOST R 34.10-2012 A.1, RFC 7091 A.1)
        ParamSet::Test256 => RawParams {
            p: "8000000000000000000000000000000000000000000000000000000000000431",
            a: "7",
            b: "5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7E",
            q: "8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3",
            x: "2",
            y: "08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8",
        },
        // id-tc26-gost-3410-2012-256-paramSetA (twisted Edwards, Weierstrass form; RFC 7836)
        ParamSet::Tc26_256A => RawParams {
            p: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97",
            a: "C2173F1513981673AF4892C23035A27CE25E2013BF95AA33B22C656F277E7335",
            b: "295F9BAE7428ED9CCC20E7C359A9D41A22FCCD9108E17BF7BA9337A6F8AE9513",
            q: "400000000000000000000000000000000FD8CDDFC87B6635C115AF556C360C67",
            x: "91E38443A5E82C0D880923425712B2BB658B9196932E02C78B2582FE742DAA28",
            y: "32879423AB1A0375895786C4BB46E9565FDE0B5344766740AF268ADB32322E5C",
        },
        // = CryptoPro-A = CryptoPro-XchA (RFC 4357)
        ParamSet::Tc26_256B => RawParams {
            p: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97",
            a: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD94",
            b: "A6",
            q: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893",
            x: "1",
            y: "8D91E471E0989CDA27DF505A453F2B7635294F2DDF23E3B122ACC99C9E9F1E14",
        },
        // = CryptoPro-B
        ParamSet::Tc26_256C => RawParams {
            p: "8000000000000000000000000000000000000000000000000000000000000C99",
            a: "8000000000000000000000000000000000000000000000000000000000000C96",
            b: "3E1AF419A269A5F866A7D3C25C3DF80AE979259373FF2B182F49D4CE7E1BBC8B",
            q: "800000000000000000000000000000015F700CFFF1A624E5E497161BCC8A198F",
            x: "1",
            y: "3FA8124359F96680B83D1C3EB2C070E5C545C9858D03ECFB744BF8D717717EFC",
        },
        // = CryptoPro-C = CryptoPro-XchB
        ParamSet::Tc26_256D => RawParams {
            p: "9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D759B",
            a: "9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D7598",
            b: "805A",
            q: "9B9F605F5A858107AB1EC85E6B41C8AA582CA3511EDDFB74F02F3A6598980BB9",
            x: "0",
            y: "41ECE55743711A8C3CBF3783CD08C0EE4D4DC440D4641A8F366E550DFDB3BB67",
        },
        // id-tc26-gost-3410-2012-512-paramSetTest (GOST R 34.10-2012 A.2, RFC 7091 A.2)
        ParamSet::Test512 => RawParams {
            p: "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DF1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373",
            a: "7",
            b: "1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC4361834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC",
            q: "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DA82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF",
            x: "24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A",
            y: "2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E",
        },
        ParamSet::Tc26_512A => RawParams {
            p: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7",
            a: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC4",
            b: "E8C2505DEDFC86DDC1BD0B2B6667F1DA34B82574761CB0E879BD081CFD0B6265EE3CB090F30D27614CB4574010DA90DD862EF9D4EBEE4761503190785A71C760",
            q: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF27E69532F48D89116FF22B8D4E0560609B4B38ABFAD2B85DCACDB1411F10B275",
            x: "3",
            y: "7503CFE87A836AE3A61B8816E25450E6CE5E1C93ACF1ABC1778064FDCBEFA921DF1626BE4FD036E93D75E6A50E3A41E98028FE5FC235F5B889A589CB5215F2A4",
        },
        ParamSet::Tc26_512B => RawParams {
            p: "8000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006F",
            a: "8000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006C",
            b: "687D1B459DC841457E3E06CF6F5E2517B97C7D614AF138BCBF85DC806C4B289F3E965D2DB1416D217F8B276FAD1AB69C50F78BEE1FA3106EFB8CCBC7C5140116",
            q: "800000000000000000000000000000000000000000000000000000000000000149A1EC142565A545ACFDB77BD9D40CFA8B996712101BEA0EC6346C54374F25BD",
            x: "2",
            y: "1A8F7EDA389B094C2C071E3647A8940F3C123B697578C213BE6DD9E6C8EC7335DCB228FD1EDF4A39152CBCAAF8C0398828041055F94CEEEC7E21340780FE41BD",
        },
        // twisted Edwards, Weierstrass form
        ParamSet::Tc26_512C => RawParams {
            p: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7",
            a: "DC9203E514A721875485A529D2C722FB187BC8980EB866644DE41C68E143064546E861C0E2C9EDD92ADE71F46FCF50FF2AD97F951FDA9F2A2EB6546F39689BD3",
            b: "B4C4EE28CEBC6C2C8AC12952CF37F16AC7EFB6A9F69F4B57FFDA2E4F0DE5ADE038CBC2FFF719D2C18DE0284B8BFEF3B52B8CC7A5F5BF0A3C8D2319A5312557E1",
            q: "3FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC98CDBA46506AB004C33A9FF5147502CC8EDA9E7A769A12694623CEF47F023ED",
            x: "E2E31EDFC23DE7BDEBE241CE593EF5DE2295B7A9CBAEF021D385F7074CEA043AA27272A7AE602BF2A7B9033DB9ED3610C6FB85487EAE97AAC5BC7928C1950148",
            y: "F5CE40D95B5EB899ABBCCFF5911CB8577939804D6527378B8C108C3D2090FF9BE18E2D33E3021ED2EF32D85822423B6304F726AA854BAE07D0396E9A9ADDC40F",
        },
    }
}

/// The Edwards d (with e = 1) of the twisted Edwards sets (RFC 7836 A.1 and A.2).
fn edwards_d(ps: ParamSet) -> Option<&'static str> {
    match ps {
        ParamSet::Tc26_256A => {
            Some("0605F6B7C183FA81578BC39CFAD518132B9DF62897009AF7E522C32D6DC7BFFB")
        }
        ParamSet::Tc26_512C => Some(
            "9E4F5D8C017D8D9F13A5CF3CDF5BFE4DAB402D54198E31EBDE28A0621050439CA6B39E0A515C06B304E2CE43E79E369E91A0CFC2BC2A22B4CA302DBB33EE7550",
        ),
        _ => None,
    }
}

/// A big-endian hex constant of any length as a `Uint<N>` (the constants above are all well formed;
/// a malformed one would give a curve whose self-check fails, see `Curve::new`).
fn hex_uint<const N: usize>(s: &str) -> Uint<N> {
    let mut be = vec![0u8; N * 8];
    let Ok(bytes) = hex::decode(if s.len() % 2 == 1 {
        format!("0{s}")
    } else {
        s.to_string()
    }) else {
        return Uint::ZERO;
    };
    if bytes.len() > be.len() {
        return Uint::ZERO;
    }
    let off = be.len() - bytes.len();
    be[off..].copy_from_slice(&bytes);
    Uint::from_be_slice(&be)
}

/// A curve with everything the signature code needs precomputed.
pub(crate) struct Curve<const N: usize> {
    pub(crate) ps: ParamSet,
    pub(crate) f: Field<N>,
    pub(crate) a: Fe<N>,
    pub(crate) b: Fe<N>,
    /// 3b (for the complete addition formulas).
    pub(crate) b3: Fe<N>,
    /// a ≡ −3 (mod p): the faster Jacobian doubling applies.
    pub(crate) a_is_minus3: bool,
    /// The order q of the base point.
    pub(crate) q: Odd<Uint<N>>,
    pub(crate) q_params: MontyParams<N>,
    pub(crate) q_bits: u32,
    /// The field modulus as an integer (for comparisons).
    pub(crate) p_uint: Uint<N>,
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) g: Affine<N>,
    /// Fixed-base comb table for the base point.
    pub(crate) table: CombTable<N>,
    /// Odd multiples P, 3P, …, (2^(w−1) − 1)P of the base point for verification (w = 8).
    pub(crate) g_odd: Vec<Affine<N>>,
    /// The twisted Edwards model (TC26 256 A, 512 C), used for signing and verification there.
    pub(crate) ed: Option<Edwards<N>>,
}

impl<const N: usize> Curve<N>
where
    Uint<N>: Invertible,
{
    /// Builds the curve; `None` when the constants do not describe a curve with P on it.
    pub(crate) fn new(ps: ParamSet) -> Option<Curve<N>> {
        let raw = raw_params(ps);
        let p: Uint<N> = hex_uint(raw.p);
        let f = Field::new(p)?;
        let a = f.from_uint(&hex_uint(raw.a));
        let b = f.from_uint(&hex_uint(raw.b));
        let b3 = f.add(&f.dbl(&b), &b);
        let minus3 = f.neg(&f.add(&f.dbl(&f.one), &f.one));
        let q_uint: Uint<N> = hex_uint(raw.q);
        let q: Odd<Uint<N>> = Option::from(Odd::new(q_uint))?;
        let q_params = MontyParams::new_vartime(q);
        let g = Affine {
            x: f.from_uint(&hex_uint(raw.x)),
            y: f.from_uint(&hex_uint(raw.y)),
        };
        let mut curve = Curve {
            ps,
            a_is_minus3: a == minus3,
            f,
            a,
            b,
            b3,
            q,
            q_params,
            q_bits: q_uint.bits_vartime(),
            p_uint: p,
            g,
            table: CombTable::empty(),
            ed: None,
            g_odd: Vec::new(),
        };
        if !curve.is_on_curve(&g) {
            return None;
        }
        curve.table = CombTable::build(&curve, &g);
        curve.g_odd = odd_multiples(&curve, &g, G_WINDOW)?;
        if let Some(d) = edwards_d(ps) {
            // a wrong constant must not silently fall back to the slower form: refuse the curve
            curve.ed = Some(Edwards::new(&curve, &hex_uint(d))?);
        }
        Some(curve)
    }
}

impl<const N: usize> Curve<N> {
    /// a·x (−3x by additions when a ≡ −3; the choice depends only on the public curve).
    #[inline(always)]
    pub(crate) fn mul_a(&self, x: &Fe<N>) -> Fe<N> {
        if self.a_is_minus3 {
            let f = &self.f;
            f.neg(&f.add(&f.dbl(x), x))
        } else {
            self.f.mul(&self.a, x)
        }
    }

    /// y² = x³ + ax + b.
    pub(crate) fn is_on_curve(&self, pt: &Affine<N>) -> bool {
        let f = &self.f;
        let y2 = f.sqr(&pt.y);
        let x2 = f.sqr(&pt.x);
        let x3 = f.mul(&x2, &pt.x);
        let ax = f.mul(&self.a, &pt.x);
        let rhs = f.add(&f.add(&x3, &ax), &self.b);
        y2 == rhs
    }
}

static CURVES_256: [OnceLock<Option<Curve<4>>>; 5] = [
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
];
static CURVES_512: [OnceLock<Option<Curve<8>>>; 4] = [
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
];

/// The 256-bit curve of a parameter set (built once), `None` for a 512-bit set.
pub(crate) fn curve256(ps: ParamSet) -> Option<&'static Curve<4>> {
    let i = match ps {
        ParamSet::Tc26_256A => 0,
        ParamSet::Tc26_256B => 1,
        ParamSet::Tc26_256C => 2,
        ParamSet::Tc26_256D => 3,
        ParamSet::Test256 => 4,
        _ => return None,
    };
    CURVES_256[i].get_or_init(|| Curve::new(ps)).as_ref()
}

/// The 512-bit curve of a parameter set (built once), `None` for a 256-bit set.
pub(crate) fn curve512(ps: ParamSet) -> Option<&'static Curve<8>> {
    let i = match ps {
        ParamSet::Tc26_512A => 0,
        ParamSet::Tc26_512B => 1,
        ParamSet::Tc26_512C => 2,
        ParamSet::Test512 => 3,
        _ => return None,
    };
    CURVES_512[i].get_or_init(|| Curve::new(ps)).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_set_builds_and_its_base_point_has_order_q() {
        for ps in ParamSet::ALL {
            if ps.is_512() {
                let c = curve512(ps);
                assert!(c.is_some(), "{ps:?}");
                if let Some(c) = c {
                    assert!(super::super::ec::order_check(c), "{ps:?}");
                }
            } else {
                let c = curve256(ps);
                assert!(c.is_some(), "{ps:?}");
                if let Some(c) = c {
                    assert!(super::super::ec::order_check(c), "{ps:?}");
                }
            }
        }
    }
}
