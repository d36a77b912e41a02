/*
 * The hot loop of hoard's chunker (src/core/chunker/chunker.ts) in C: the same Rabin fingerprint
 * over a 64-byte window, with tables and state prepared and kept by the TypeScript side. The
 * TypeScript loop stays the reference; a test checks that both cut at the same offsets.
 *
 * feed(tables Int32Array[1024], state Int32Array[8], window Uint8Array[64], data Uint8Array,
 *      cuts Int32Array) -> number of cut offsets written to cuts
 * state: hi, lo, wpos, count, pre, minSize, maxSize, mask (hi/lo: the 53-bit digest in halves).
 * Stops early when cuts is full; the caller sizes it for the worst case.
 */
#include <string.h>
#include "hoard.h"

napi_value chunker_feed(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t ntab, nst, nwin, ndata, ncuts;
  int32_t *tab = typed(env, argv[0], &ntab);
  int32_t *st = typed(env, argv[1], &nst);
  uint8_t *win = typed(env, argv[2], &nwin);
  uint8_t *data = typed(env, argv[3], &ndata);
  int32_t *cuts = typed(env, argv[4], &ncuts);
  if (!tab || !st || !win || !cuts || ntab != 1024 || nst != 8 || nwin != 64 || (!data && ndata)) {
    napi_throw_type_error(env, NULL, "chunker feed: bad arguments");
    return NULL;
  }
  uint64_t out[256], mod[256];
  for (int b = 0; b < 256; b++) {
    out[b] = ((uint64_t)(uint32_t)tab[b] << 32) | (uint32_t)tab[256 + b];
    mod[b] = ((uint64_t)(uint32_t)tab[512 + b] << 32) | (uint32_t)tab[768 + b];
  }
  const uint64_t mask53 = (1ULL << 53) - 1;
  uint64_t digest = ((uint64_t)(uint32_t)st[0] << 32) | (uint32_t)st[1];
  uint32_t wpos = (uint32_t)st[2], count = (uint32_t)st[3], pre = (uint32_t)st[4];
  const uint32_t minSize = (uint32_t)st[5], maxSize = (uint32_t)st[6], mask = (uint32_t)st[7];
  size_t i = 0, ncut = 0;
  while (i < ndata && ncut < ncuts) {
    if (pre > 0) {
      size_t skip = ndata - i < pre ? ndata - i : pre;
      pre -= (uint32_t)skip;
      count += (uint32_t)skip;
      i += skip;
      continue;
    }
    int cut = 0;
    while (i < ndata) {
      uint8_t b = data[i++];
      uint8_t o = win[wpos];
      win[wpos] = b;
      digest ^= out[o];
      wpos = (wpos + 1) & 63;
      uint32_t index = (uint32_t)(digest >> 45);
      digest = (((digest << 8) | b) & mask53) ^ mod[index];
      count++;
      if (count >= minSize && (((uint32_t)digest & mask) == 0 || count >= maxSize)) { cut = 1; break; }
    }
    if (cut) {
      cuts[ncut++] = (int32_t)i;
      memset(win, 0, 64);
      win[0] = 1;
      wpos = 1;
      digest = 1;
      count = 0;
      pre = minSize - 64;
    }
  }
  st[0] = (int32_t)(uint32_t)(digest >> 32);
  st[1] = (int32_t)(uint32_t)digest;
  st[2] = (int32_t)wpos;
  st[3] = (int32_t)count;
  st[4] = (int32_t)pre;
  napi_value result;
  napi_create_uint32(env, (uint32_t)ncut, &result);
  return result;
}
