/*
 * Times OpenSSL's GOST engine on this machine, single thread, as the reference for
 * benches/gost.rs: GOST R 34.10-2012 sign/verify over a raw digest (EVP_PKEY_sign /
 * EVP_PKEY_verify, as `openssl pkeyutl` does) for every parameter set, and Streebog-256/512
 * throughput (EVP_Digest over 8 KiB buffers).
 *
 * Build and run: see README.md next to this file.
 */
#include <openssl/engine.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "error: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static EVP_PKEY *keygen(ENGINE *e, int nid, const char *paramset) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(nid, e);
    EVP_PKEY *key = NULL;
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0) die("keygen init");
    if (EVP_PKEY_CTX_ctrl_str(ctx, "paramset", paramset) <= 0) die("paramset");
    if (EVP_PKEY_keygen(ctx, &key) <= 0) die("keygen");
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static void bench_sig(ENGINE *e, int nid, const char *label, const char *paramset, double secs) {
    EVP_PKEY *key = keygen(e, nid, paramset);
    size_t dlen = nid == NID_id_GostR3410_2012_256 ? 32 : 64;
    unsigned char dgst[64], sig[128];
    size_t siglen;
    for (size_t i = 0; i < sizeof dgst; i++) dgst[i] = (unsigned char)(i * 37 + 5);
    EVP_PKEY_CTX *sctx = EVP_PKEY_CTX_new(key, e);
    if (!sctx || EVP_PKEY_sign_init(sctx) <= 0) die("sign init");
    /* best of many short batches: robust against other load on the machine */
    double best_sign = 1e9, best_verify = 1e9, t0, t, start = now();
    long nsign = 0, nverify = 0;
    do {
        t0 = now();
        for (int i = 0; i < 10; i++) {
            siglen = sizeof sig;
            if (EVP_PKEY_sign(sctx, sig, &siglen, dgst, dlen) <= 0) die("sign");
        }
        nsign += 10;
        t = (now() - t0) / 10;
        if (t < best_sign) best_sign = t;
    } while (now() - start < secs);
    double mean_sign = (now() - start) / nsign;
    EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new(key, e);
    if (!vctx || EVP_PKEY_verify_init(vctx) <= 0) die("verify init");
    start = now();
    do {
        t0 = now();
        for (int i = 0; i < 4; i++)
            if (EVP_PKEY_verify(vctx, sig, siglen, dgst, dlen) != 1) die("verify");
        nverify += 4;
        t = (now() - t0) / 4;
        if (t < best_verify) best_verify = t;
    } while (now() - start < secs);
    double mean_verify = (now() - start) / nverify;
    double sign_rate = 1 / best_sign, verify_rate = 1 / best_verify;
    printf("%-20s sign %7.1f us (best) %7.1f us (mean) = %6.0f /s   verify %7.1f us (best) %7.1f us (mean) = %6.0f /s\n",
           label, 1e6 / sign_rate, 1e6 * mean_sign, 1 / mean_sign, 1e6 / verify_rate, 1e6 * mean_verify,
           1 / mean_verify);
    EVP_PKEY_CTX_free(sctx);
    EVP_PKEY_CTX_free(vctx);
    EVP_PKEY_free(key);
}

static void bench_md(ENGINE *e, const char *name, double secs) {
    const EVP_MD *md = ENGINE_get_digest(e, OBJ_sn2nid(name));
    if (!md) md = EVP_get_digestbyname(name);
    if (!md) die(name);
    static unsigned char buf[8192];
    unsigned char out[64];
    unsigned int outlen;
    memset(buf, 0xa5, sizeof buf);
    double best = 1e9, t0, t, start = now();
    long n = 0;
    do {
        t0 = now();
        for (int i = 0; i < 4; i++)
            if (!EVP_Digest(buf, sizeof buf, out, &outlen, md, e)) die("digest");
        n += 4;
        t = (now() - t0) / 4;
        if (t < best) best = t;
    } while (now() - start < secs);
    double mean = (now() - start) / n;
    printf("%-22s %7.1f MB/s (8 KiB buffers, best batch) %7.1f MB/s (mean)\n", name,
           sizeof buf / best / 1e6, sizeof buf / mean / 1e6);
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    ENGINE_load_builtin_engines();
    ENGINE *e = ENGINE_by_id("gost");
    if (!e || !ENGINE_init(e)) die("ENGINE_by_id(gost)");
    ENGINE_set_default(e, ENGINE_METHOD_ALL);
    static const char *p256[][2] = {
        {"256 TC26 A (TCA)", "TCA"}, {"256 TC26 B (CP-A)", "A"}, {"256 TC26 C (CP-B)", "B"},
        {"256 TC26 D (CP-C)", "C"},
    };
    static const char *p512[][2] = {{"512 TC26 A", "A"}, {"512 TC26 B", "B"}, {"512 TC26 C", "C"}};
    for (size_t i = 0; i < sizeof p256 / sizeof p256[0]; i++)
        bench_sig(e, NID_id_GostR3410_2012_256, p256[i][0], p256[i][1], secs);
    for (size_t i = 0; i < sizeof p512 / sizeof p512[0]; i++)
        bench_sig(e, NID_id_GostR3410_2012_512, p512[i][0], p512[i][1], secs);
    bench_md(e, "md_gost12_256", secs);
    bench_md(e, "md_gost12_512", secs);
    ENGINE_finish(e);
    ENGINE_free(e);
    return 0;
}
