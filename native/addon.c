/* Entry point of hoard's native addon: registers the chunker loop, Poly1305, SHA-256 on the thread pool, nanosecond file times and the malloc arena limit. */
#include "hoard.h"

void *typed(napi_env env, napi_value v, size_t *len) {
  napi_typedarray_type t;
  size_t n;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, &n, &data, &ab, &off) != napi_ok) return NULL;
  *len = n;
  return data;
}

static void define(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  define(env, exports, "feed", chunker_feed);
  define(env, exports, "poly1305", poly1305_mac);
  define(env, exports, "sha256", sha256_async);
  define(env, exports, "futimens", futimens_ns);
  define(env, exports, "lutimens", lutimens_ns);
  define(env, exports, "mallocArenas", malloc_arenas);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
