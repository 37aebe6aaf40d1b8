//! x86-64 multiplication and squaring modulo p = 2^512 − C (TC26 512 A and C: C = 569) with
//! `mulx`/`adcx`/`adox` (BMI2 + ADX), used by `field.rs` when the CPU has both (checked at run
//! time).
//!
//! Hand-written because the portable limb code (u128 products) is latency-bound for 8 limbs: it
//! keeps one carry chain and spills, while `adcx`/`adox` run the low and high halves of the
//! partial products as two independent carry chains (measured on the shared 2-core EPYC:
//! 37–39 ns vs 60 ns per multiplication, 28 ns per squaring). Both are branch-free and
//! have no secret-dependent memory access (constant time, like the portable code).
//!
//! Layout (regular, so it can be checked by eye): limb k of the 16-limb product is accumulated in
//! register r(8 + k mod 8) while it is live; a finished low limb is stored to the scratch array
//! (for the product: the copy of b, whose limb i is no longer needed once row i has started).
//! Row i adds a·b[i] (or a_i·a_j, j > i, for the square) with `adcx` carrying the low words and
//! `adox` the high words. The reduction folds the high half times C into the low half
//! (2^512 ≡ C), then the top word times C, then subtracts p once if needed (as `add C` modulo
//! 2^512). Inputs must be < 2^512; the result is fully reduced (< p). Checked against the portable code in
//! `field.rs`'s tests.
#![allow(unsafe_code)] // inline assembly; the crate denies unsafe code everywhere else

/// lo (in the scratch at rdi) + C·hi (in r8..r15) mod p, fully reduced, into rsi, r8..r14.
macro_rules! reduce8 {
    () => {
        concat!(
            // reduce: lo + C·hi, result limbs in rsi, r8..r14, top in r15
            "mov edx, {c}; xor eax, eax\n",
            "mulx r8, rax, r8; mov rcx, [rdi + 0]; adcx rcx, rax; mov rsi, rcx\n",
            "mulx r9, rax, r9; mov rcx, [rdi + 8]; adcx rcx, rax; adox rcx, r8; mov r8, rcx\n",
            "mulx r10, rax, r10; mov rcx, [rdi + 16]; adcx rcx, rax; adox rcx, r9; mov r9, rcx\n",
            "mulx r11, rax, r11; mov rcx, [rdi + 24]; adcx rcx, rax; adox rcx, r10; mov r10, rcx\n",
            "mulx r12, rax, r12; mov rcx, [rdi + 32]; adcx rcx, rax; adox rcx, r11; mov r11, rcx\n",
            "mulx r13, rax, r13; mov rcx, [rdi + 40]; adcx rcx, rax; adox rcx, r12; mov r12, rcx\n",
            "mulx r14, rax, r14; mov rcx, [rdi + 48]; adcx rcx, rax; adox rcx, r13; mov r13, rcx\n",
            "mulx r15, rax, r15; mov rcx, [rdi + 56]; adcx rcx, rax; adox rcx, r14\n",
            "mov r14, rcx; mov eax, 0; adcx r15, rax; adox r15, rax\n",
            // fold the top word: r += top·C, k = carry out
            "imul r15, r15, {c}; add rsi, r15; adc r8, 0; adc r9, 0; adc r10, 0; adc r11, 0\n",
            "adc r12, 0; adc r13, 0; adc r14, 0; sbb rcx, rcx\n",
            // r ≥ p exactly when r + C carries; add C (mod 2^512) when that or k
            "mov rax, rsi; add rax, {c}; mov rax, r8; adc rax, 0; mov rax, r9; adc rax, 0\n",
            "mov rax, r10; adc rax, 0; mov rax, r11; adc rax, 0; mov rax, r12; adc rax, 0\n",
            "mov rax, r13; adc rax, 0; mov rax, r14; adc rax, 0; sbb rax, rax; or rax, rcx\n",
            "and eax, {c}; add rsi, rax; adc r8, 0; adc r9, 0; adc r10, 0; adc r11, 0\n",
            "adc r12, 0; adc r13, 0; adc r14, 0\n",
        )
    };
}

/// (a·b) mod 2^512 − C, fully reduced (a, b < 2^512).
#[inline(always)]
pub(crate) fn mul<const C: u64>(a: &[u64; 8], b: &[u64; 8]) -> [u64; 8] {
    let mut t = *b;
    let (r0, r1, r2, r3, r4, r5, r6, r7): (u64, u64, u64, u64, u64, u64, u64, u64);
    // SAFETY: reads a (8 words) and reads/writes t (8 words, owned here) through the pointers
    // given; every other register it writes is declared as an output or clobber; no stack use.
    unsafe {
        core::arch::asm!(
            // row 0: t = a·b[0]
            "mov rdx, [rdi]",
            "mulx r9, r8, [rsi]; mov [rdi], r8",
            "mulx r10, rax, [rsi + 8]; add r9, rax",
            "mulx r11, rax, [rsi + 16]; adc r10, rax",
            "mulx r12, rax, [rsi + 24]; adc r11, rax",
            "mulx r13, rax, [rsi + 32]; adc r12, rax",
            "mulx r14, rax, [rsi + 40]; adc r13, rax",
            "mulx r15, rax, [rsi + 48]; adc r14, rax",
            "mulx r8, rax, [rsi + 56]; adc r15, rax; adc r8, 0",
            // row 1: t += a·b[1]·2^64
            "mov rdx, [rdi + 8]; xor eax, eax",
            "mulx rcx, rax, [rsi]; adcx r9, rax; adox r10, rcx; mov [rdi + 8], r9; mov r9, 0",
            "mulx rcx, rax, [rsi + 8]; adcx r10, rax; adox r11, rcx",
            "mulx rcx, rax, [rsi + 16]; adcx r11, rax; adox r12, rcx",
            "mulx rcx, rax, [rsi + 24]; adcx r12, rax; adox r13, rcx",
            "mulx rcx, rax, [rsi + 32]; adcx r13, rax; adox r14, rcx",
            "mulx rcx, rax, [rsi + 40]; adcx r14, rax; adox r15, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r15, rax; adox r8, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r8, rax; adox r9, rcx; adc r9, 0",
            // row 2: t += a·b[2]·2^128
            "mov rdx, [rdi + 16]; xor eax, eax",
            "mulx rcx, rax, [rsi]; adcx r10, rax; adox r11, rcx; mov [rdi + 16], r10; mov r10, 0",
            "mulx rcx, rax, [rsi + 8]; adcx r11, rax; adox r12, rcx",
            "mulx rcx, rax, [rsi + 16]; adcx r12, rax; adox r13, rcx",
            "mulx rcx, rax, [rsi + 24]; adcx r13, rax; adox r14, rcx",
            "mulx rcx, rax, [rsi + 32]; adcx r14, rax; adox r15, rcx",
            "mulx rcx, rax, [rsi + 40]; adcx r15, rax; adox r8, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r8, rax; adox r9, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r9, rax; adox r10, rcx; adc r10, 0",
            // row 3: t += a·b[3]·2^192
            "mov rdx, [rdi + 24]; xor eax, eax",
            "mulx rcx, rax, [rsi]; adcx r11, rax; adox r12, rcx; mov [rdi + 24], r11; mov r11, 0",
            "mulx rcx, rax, [rsi + 8]; adcx r12, rax; adox r13, rcx",
            "mulx rcx, rax, [rsi + 16]; adcx r13, rax; adox r14, rcx",
            "mulx rcx, rax, [rsi + 24]; adcx r14, rax; adox r15, rcx",
            "mulx rcx, rax, [rsi + 32]; adcx r15, rax; adox r8, rcx",
            "mulx rcx, rax, [rsi + 40]; adcx r8, rax; adox r9, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r9, rax; adox r10, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r10, rax; adox r11, rcx; adc r11, 0",
            // row 4: t += a·b[4]·2^256
            "mov rdx, [rdi + 32]; xor eax, eax",
            "mulx rcx, rax, [rsi]; adcx r12, rax; adox r13, rcx; mov [rdi + 32], r12; mov r12, 0",
            "mulx rcx, rax, [rsi + 8]; adcx r13, rax; adox r14, rcx",
            "mulx rcx, rax, [rsi + 16]; adcx r14, rax; adox r15, rcx",
            "mulx rcx, rax, [rsi + 24]; adcx r15, rax; adox r8, rcx",
            "mulx rcx, rax, [rsi + 32]; adcx r8, rax; adox r9, rcx",
            "mulx rcx, rax, [rsi + 40]; adcx r9, rax; adox r10, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r10, rax; adox r11, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r11, rax; adox r12, rcx; adc r12, 0",
            // row 5: t += a·b[5]·2^320
            "mov rdx, [rdi + 40]; xor eax, eax",
            "mulx rcx, rax, [rsi]; adcx r13, rax; adox r14, rcx; mov [rdi + 40], r13; mov r13, 0",
            "mulx rcx, rax, [rsi + 8]; adcx r14, rax; adox r15, rcx",
            "mulx rcx, rax, [rsi + 16]; adcx r15, rax; adox r8, rcx",
            "mulx rcx, rax, [rsi + 24]; adcx r8, rax; adox r9, rcx",
            "mulx rcx, rax, [rsi + 32]; adcx r9, rax; adox r10, rcx",
            "mulx rcx, rax, [rsi + 40]; adcx r10, rax; adox r11, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r11, rax; adox r12, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r12, rax; adox r13, rcx; adc r13, 0",
            // row 6: t += a·b[6]·2^384
            "mov rdx, [rdi + 48]; xor eax, eax",
            "mulx rcx, rax, [rsi]; adcx r14, rax; adox r15, rcx; mov [rdi + 48], r14; mov r14, 0",
            "mulx rcx, rax, [rsi + 8]; adcx r15, rax; adox r8, rcx",
            "mulx rcx, rax, [rsi + 16]; adcx r8, rax; adox r9, rcx",
            "mulx rcx, rax, [rsi + 24]; adcx r9, rax; adox r10, rcx",
            "mulx rcx, rax, [rsi + 32]; adcx r10, rax; adox r11, rcx",
            "mulx rcx, rax, [rsi + 40]; adcx r11, rax; adox r12, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r12, rax; adox r13, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r13, rax; adox r14, rcx; adc r14, 0",
            // row 7: t += a·b[7]·2^448
            "mov rdx, [rdi + 56]; xor eax, eax",
            "mulx rcx, rax, [rsi]; adcx r15, rax; adox r8, rcx; mov [rdi + 56], r15; mov r15, 0",
            "mulx rcx, rax, [rsi + 8]; adcx r8, rax; adox r9, rcx",
            "mulx rcx, rax, [rsi + 16]; adcx r9, rax; adox r10, rcx",
            "mulx rcx, rax, [rsi + 24]; adcx r10, rax; adox r11, rcx",
            "mulx rcx, rax, [rsi + 32]; adcx r11, rax; adox r12, rcx",
            "mulx rcx, rax, [rsi + 40]; adcx r12, rax; adox r13, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r13, rax; adox r14, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r14, rax; adox r15, rcx; adc r15, 0",
            reduce8!(),
            c = const C,
            inout("rsi") a.as_ptr() => r0,
            in("rdi") t.as_mut_ptr(),
            out("rax") _, out("rcx") _, out("rdx") _,
            out("r8") r1, out("r9") r2, out("r10") r3, out("r11") r4,
            out("r12") r5, out("r13") r6, out("r14") r7, out("r15") _,
            options(nostack),
        );
    }
    [r0, r1, r2, r3, r4, r5, r6, r7]
}

/// a² mod 2^512 − C, fully reduced (a < 2^512).
#[inline(always)]
pub(crate) fn sqr<const C: u64>(a: &[u64; 8]) -> [u64; 8] {
    let mut t = [0u64; 16];
    let (r0, r1, r2, r3, r4, r5, r6, r7): (u64, u64, u64, u64, u64, u64, u64, u64);
    // SAFETY: as in `mul`, with t a 16-word scratch owned here.
    unsafe {
        core::arch::asm!(
            // cross products a_i·a_j (i < j); row i accumulates into limbs 2i+1 ..= i+8
            "mov rdx, [rsi]",
            "mulx r10, r9, [rsi + 8]",
            "mulx r11, rax, [rsi + 16]; add r10, rax",
            "mulx r12, rax, [rsi + 24]; adc r11, rax",
            "mulx r13, rax, [rsi + 32]; adc r12, rax",
            "mulx r14, rax, [rsi + 40]; adc r13, rax",
            "mulx r15, rax, [rsi + 48]; adc r14, rax",
            "mulx r8, rax, [rsi + 56]; adc r15, rax; adc r8, 0; mov [rdi + 8], r9",
            "mov [rdi + 16], r10",
            "mov rdx, [rsi + 8]; xor eax, eax; mov r9, 0",
            "mulx rcx, rax, [rsi + 16]; adcx r11, rax; adox r12, rcx",
            "mulx rcx, rax, [rsi + 24]; adcx r12, rax; adox r13, rcx",
            "mulx rcx, rax, [rsi + 32]; adcx r13, rax; adox r14, rcx",
            "mulx rcx, rax, [rsi + 40]; adcx r14, rax; adox r15, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r15, rax; adox r8, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r8, rax; adox r9, rcx; adc r9, 0",
            "mov [rdi + 24], r11; mov [rdi + 32], r12",
            "mov rdx, [rsi + 16]; xor eax, eax; mov r10, 0",
            "mulx rcx, rax, [rsi + 24]; adcx r13, rax; adox r14, rcx",
            "mulx rcx, rax, [rsi + 32]; adcx r14, rax; adox r15, rcx",
            "mulx rcx, rax, [rsi + 40]; adcx r15, rax; adox r8, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r8, rax; adox r9, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r9, rax; adox r10, rcx; adc r10, 0",
            "mov [rdi + 40], r13; mov [rdi + 48], r14",
            "mov rdx, [rsi + 24]; xor eax, eax; mov r11, 0",
            "mulx rcx, rax, [rsi + 32]; adcx r15, rax; adox r8, rcx",
            "mulx rcx, rax, [rsi + 40]; adcx r8, rax; adox r9, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r9, rax; adox r10, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r10, rax; adox r11, rcx; adc r11, 0",
            "mov [rdi + 56], r15; mov [rdi + 64], r8",
            "mov rdx, [rsi + 32]; xor eax, eax; mov r12, 0",
            "mulx rcx, rax, [rsi + 40]; adcx r9, rax; adox r10, rcx",
            "mulx rcx, rax, [rsi + 48]; adcx r10, rax; adox r11, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r11, rax; adox r12, rcx; adc r12, 0",
            "mov [rdi + 72], r9; mov [rdi + 80], r10",
            "mov rdx, [rsi + 40]; xor eax, eax; mov r13, 0",
            "mulx rcx, rax, [rsi + 48]; adcx r11, rax; adox r12, rcx",
            "mulx rcx, rax, [rsi + 56]; adcx r12, rax; adox r13, rcx; adc r13, 0",
            "mov [rdi + 88], r11; mov [rdi + 96], r12",
            "mov rdx, [rsi + 48]; xor eax, eax; mov r14, 0",
            "mulx rcx, rax, [rsi + 56]; adcx r13, rax; adox r14, rcx; adc r14, 0",
            // doubled cross products plus the squares a_i²·2^(128i):
            // limbs 0..7 to memory, 8..15 in r8..r15
            "xor eax, eax; mov r15, 0",
            "mov rdx, [rsi + 0]",
            "mulx rdx, rax, rdx; mov rcx, 0; adcx rcx, rcx; adox rcx, rax; mov [rdi + 0], rcx",
            "mov rcx, [rdi + 8]; adcx rcx, rcx; adox rcx, rdx; mov [rdi + 8], rcx",
            "mov rdx, [rsi + 8]",
            "mulx rdx, rax, rdx; mov rcx, [rdi + 16]; adcx rcx, rcx; adox rcx, rax",
            "mov [rdi + 16], rcx; mov rcx, [rdi + 24]; adcx rcx, rcx; adox rcx, rdx",
            "mov [rdi + 24], rcx",
            "mov rdx, [rsi + 16]",
            "mulx rdx, rax, rdx; mov rcx, [rdi + 32]; adcx rcx, rcx; adox rcx, rax",
            "mov [rdi + 32], rcx; mov rcx, [rdi + 40]; adcx rcx, rcx; adox rcx, rdx",
            "mov [rdi + 40], rcx",
            "mov rdx, [rsi + 24]",
            "mulx rdx, rax, rdx; mov rcx, [rdi + 48]; adcx rcx, rcx; adox rcx, rax",
            "mov [rdi + 48], rcx; mov rcx, [rdi + 56]; adcx rcx, rcx; adox rcx, rdx",
            "mov [rdi + 56], rcx",
            "mov rdx, [rsi + 32]",
            "mulx rdx, rax, rdx; mov r8, [rdi + 64]; adcx r8, r8; adox r8, rax",
            "mov r9, [rdi + 72]; adcx r9, r9; adox r9, rdx",
            "mov rdx, [rsi + 40]",
            "mulx rdx, rax, rdx; mov r10, [rdi + 80]; adcx r10, r10; adox r10, rax",
            "mov r11, [rdi + 88]; adcx r11, r11; adox r11, rdx",
            "mov rdx, [rsi + 48]",
            "mulx rdx, rax, rdx; mov r12, [rdi + 96]; adcx r12, r12; adox r12, rax",
            "adcx r13, r13; adox r13, rdx",
            "mov rdx, [rsi + 56]",
            "mulx rdx, rax, rdx; adcx r14, r14; adox r14, rax; adcx r15, r15; adox r15, rdx",
            reduce8!(),
            c = const C,
            inout("rsi") a.as_ptr() => r0,
            in("rdi") t.as_mut_ptr(),
            out("rax") _, out("rcx") _, out("rdx") _,
            out("r8") r1, out("r9") r2, out("r10") r3, out("r11") r4,
            out("r12") r5, out("r13") r6, out("r14") r7, out("r15") _,
            options(nostack),
        );
    }
    [r0, r1, r2, r3, r4, r5, r6, r7]
}
