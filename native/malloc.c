/*
 * Limiting glibc's malloc arenas. Every thread that allocates (hoard's workers, libuv's pool, V8's
 * helpers) gets an arena of its own by default, and freed memory stays in it: on a kernel-tree
 * restore that held about 100 MB of the process's peak. mallopt(M_ARENA_MAX) takes effect for
 * threads that have not allocated yet, so hoard calls it before it starts any worker. A no-op
 * where the C library is not glibc.
 */
#include "hoard.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif

napi_value malloc_arenas(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t n = 0, ok = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1 && napi_get_value_int32(env, argv[0], &n) == napi_ok && n > 0) {
#ifdef __GLIBC__
    ok = mallopt(M_ARENA_MAX, n);
#endif
  }
  napi_get_boolean(env, ok == 1, &result);
  return result;
}
