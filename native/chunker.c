/*
 * The hot loop of hoard's chunker (src/core/chunker/chunker.ts) in C: the same Rabin fingerprint
 * over a 64-byte window, with tables and state prepared and kept by the TypeScript side. The
 * TypeScript loop stays the reference; a test checks that both cut at the same offsets.
 *
 * feed(tables Int32Array[1024], state Int32Array[8], window Uint8Array[64], data Uint8Array,
 *      cuts Int32Array) -> number of cut offsets written to cuts
 * feedAsync(same arguments) -> Promise<number>: the same loop on libuv's thread pool, so that the
 *      main thread reads and schedules while a large file or a database stream is being cut (the
 *      loop is a byte-by-byte dependency chain of about 2 ns a byte: one core's worth of work at
 *      450 MB/s). The caller must leave all five arrays alone until the promise settles.
 * state: hi, lo, wpos, count, pre, minSize, maxSize, mask (hi/lo: the 53-bit digest in halves).
 * Stops early when cuts is full; the caller sizes it for the worst case.
 */
#include <stdlib.h>
#include <string.h>
#include "hoard.h"

#define NARGS 5

/* The five arguments, checked: pointers and lengths. */
typedef struct {
  int32_t *tab, *st, *cuts;
  uint8_t *win, *data;
  size_t ndata, ncuts;
} feed_args;

/* Fills `a` from argv; throws a TypeError and returns 0 when an argument is not what feed takes. */
static int get_args(napi_env env, napi_value *argv, size_t argc, feed_args *a) {
  size_t ntab = 0, nst = 0, nwin = 0;
  if (argc < NARGS) { napi_throw_type_error(env, NULL, "chunker feed: bad arguments"); return 0; }
  a->tab = typed(env, argv[0], &ntab);
  a->st = typed(env, argv[1], &nst);
  a->win = typed(env, argv[2], &nwin);
  a->ndata = 0;
  a->data = typed(env, argv[3], &a->ndata);
  a->cuts = typed(env, argv[4], &a->ncuts);
  if (!a->tab || !a->st || !a->win || !a->cuts || ntab != 1024 || nst != 8 || nwin != 64 || (!a->data && a->ndata)) {
    napi_throw_type_error(env, NULL, "chunker feed: bad arguments");
    return 0;
  }
  return 1;
}

/* The loop itself: cuts `data`, carrying state in st and win; returns the number of cuts written. */
static size_t feed_loop(const feed_args *a) {
  const int32_t *tab = a->tab;
  int32_t *st = a->st, *cuts = a->cuts;
  uint8_t *win = a->win;
  const uint8_t *data = a->data;
  const size_t ndata = a->ndata, ncuts = a->ncuts;
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
  return ncut;
}

napi_value chunker_feed(napi_env env, napi_callback_info info) {
  size_t argc = NARGS;
  napi_value argv[NARGS];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  feed_args a;
  if (!get_args(env, argv, argc, &a)) return NULL;
  napi_value result;
  napi_create_uint32(env, (uint32_t)feed_loop(&a), &result);
  return result;
}

/* One feedAsync call: its arguments, references that keep them alive, and the result. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref refs[NARGS];
  feed_args a;
  size_t ncut;
} feed_job;

static void feed_execute(napi_env env, void *p) {
  (void)env;
  feed_job *j = p;
  j->ncut = feed_loop(&j->a);
}

static void feed_complete(napi_env env, napi_status status, void *p) {
  feed_job *j = p;
  for (int i = 0; i < NARGS; i++) napi_delete_reference(env, j->refs[i]);
  if (status == napi_ok) {
    napi_value v;
    napi_create_uint32(env, (uint32_t)j->ncut, &v);
    napi_resolve_deferred(env, j->deferred, v);
  } else {
    reject_deferred(env, j->deferred, "chunker feed was cancelled");
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

napi_value chunker_feed_async(napi_env env, napi_callback_info info) {
  size_t argc = NARGS;
  napi_value argv[NARGS];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  feed_job *j = calloc(1, sizeof *j);
  if (!j) { napi_throw_error(env, NULL, "chunker feed: out of memory"); return NULL; }
  if (!get_args(env, argv, argc, &j->a)) { free(j); return NULL; }
  for (int i = 0; i < NARGS; i++) napi_create_reference(env, argv[i], 1, &j->refs[i]);
  return queue_async(env, "hoard.chunker", feed_execute, feed_complete, j, &j->work, &j->deferred);
}
