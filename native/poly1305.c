/*
 * Poly1305 (RFC 8439 §2.5) with three limbs of 44/44/42 bits and 128-bit products. The key is
 * r || s (32 bytes); r is clamped here. Used for restic's Poly1305-AES MAC, where s is AES_k(nonce)
 * (src/core/crypto/crypto.ts); the TypeScript side falls back to @noble/ciphers when the addon is
 * absent, and a test compares the two on random inputs.
 *
 * poly1305(key Uint8Array[32], msg Uint8Array, out Uint8Array[16]) -> undefined
 */
#include <string.h>
#include "hoard.h"

typedef unsigned __int128 u128;
#define M44 ((((uint64_t)1) << 44) - 1)
#define M42 ((((uint64_t)1) << 42) - 1)

static uint64_t le64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8); /* x86-64 and arm64 hosts are little-endian */
  return v;
}

typedef struct { uint64_t r0, r1, r2, s1, s2, h0, h1, h2; } state;

static void blocks(state *st, const uint8_t *m, size_t len, uint64_t hibit) {
  uint64_t h0 = st->h0, h1 = st->h1, h2 = st->h2;
  const uint64_t r0 = st->r0, r1 = st->r1, r2 = st->r2, s1 = st->s1, s2 = st->s2;
  for (; len >= 16; len -= 16, m += 16) {
    uint64_t t0 = le64(m), t1 = le64(m + 8);
    h0 += t0 & M44;
    h1 += ((t0 >> 44) | (t1 << 20)) & M44;
    h2 += ((t1 >> 24) & M42) | hibit;
    u128 d0 = (u128)h0 * r0 + (u128)h1 * s2 + (u128)h2 * s1;
    u128 d1 = (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s2;
    u128 d2 = (u128)h0 * r2 + (u128)h1 * r1 + (u128)h2 * r0;
    uint64_t c = (uint64_t)(d0 >> 44);
    h0 = (uint64_t)d0 & M44;
    d1 += c;
    c = (uint64_t)(d1 >> 44);
    h1 = (uint64_t)d1 & M44;
    d2 += c;
    c = (uint64_t)(d2 >> 42);
    h2 = (uint64_t)d2 & M42;
    h0 += c * 5;
    c = h0 >> 44;
    h0 &= M44;
    h1 += c;
  }
  st->h0 = h0; st->h1 = h1; st->h2 = h2;
}

static void mac(const uint8_t key[32], const uint8_t *m, size_t len, uint8_t out[16]) {
  state st;
  uint64_t t0 = le64(key) & 0x0ffffffc0fffffffULL, t1 = le64(key + 8) & 0x0ffffffc0ffffffcULL;
  st.r0 = t0 & M44;
  st.r1 = ((t0 >> 44) | (t1 << 20)) & M44;
  st.r2 = (t1 >> 24) & M42;
  st.s1 = st.r1 * 20;
  st.s2 = st.r2 * 20;
  st.h0 = st.h1 = st.h2 = 0;
  size_t full = len & ~(size_t)15;
  blocks(&st, m, full, ((uint64_t)1) << 40);
  if (len > full) {
    uint8_t last[16] = {0};
    memcpy(last, m + full, len - full);
    last[len - full] = 1;
    blocks(&st, last, 16, 0);
  }
  /* fully carry h, then subtract p = 2^130 - 5 if h >= p */
  uint64_t h0 = st.h0, h1 = st.h1, h2 = st.h2, c;
  c = h1 >> 44; h1 &= M44; h2 += c;
  c = h2 >> 42; h2 &= M42; h0 += c * 5;
  c = h0 >> 44; h0 &= M44; h1 += c;
  c = h1 >> 44; h1 &= M44; h2 += c;
  c = h2 >> 42; h2 &= M42; h0 += c * 5;
  c = h0 >> 44; h0 &= M44; h1 += c;
  uint64_t g0 = h0 + 5; c = g0 >> 44; g0 &= M44;
  uint64_t g1 = h1 + c; c = g1 >> 44; g1 &= M44;
  uint64_t g2 = h2 + c - (((uint64_t)1) << 42);
  uint64_t keep_g = (g2 >> 63) - 1; /* all ones when g2 did not borrow, i.e. h >= p */
  h0 = (h0 & ~keep_g) | (g0 & keep_g);
  h1 = (h1 & ~keep_g) | (g1 & keep_g);
  h2 = (h2 & ~keep_g) | (g2 & keep_g);
  /* h mod 2^128, plus s */
  uint64_t lo = h0 | (h1 << 44), hi = (h1 >> 20) | (h2 << 24);
  uint64_t s0 = le64(key + 16), s1 = le64(key + 24);
  u128 sum = (u128)lo + s0;
  lo = (uint64_t)sum;
  hi = hi + s1 + (uint64_t)(sum >> 64);
  memcpy(out, &lo, 8);
  memcpy(out + 8, &hi, 8);
}

napi_value poly1305_mac(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t nk = 0, nm = 0, no = 0;
  uint8_t *k = argc == 3 ? typed(env, argv[0], &nk) : NULL;
  uint8_t *m = argc == 3 ? typed(env, argv[1], &nm) : NULL;
  uint8_t *o = argc == 3 ? typed(env, argv[2], &no) : NULL;
  if (!k || nk != 32 || !o || no != 16 || (!m && nm)) {
    napi_throw_type_error(env, NULL, "poly1305: bad arguments");
    return NULL;
  }
  mac(k, m, nm, o);
  return NULL;
}
