/* Entry point of hoard's native addon: registers the chunker loop (also on the thread pool), Poly1305, SHA-256 on the thread pool, nanosecond file times and the malloc arena limit. */
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

void reject_deferred(napi_env env, napi_deferred d, const char *msg) {
  napi_value m, e;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  napi_reject_deferred(env, d, e);
}

napi_value queue_async(napi_env env, const char *name, napi_async_execute_callback execute,
                       napi_async_complete_callback complete, void *data, napi_async_work *work, napi_deferred *deferred) {
  napi_value promise, n;
  napi_create_promise(env, deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &n);
  napi_create_async_work(env, NULL, n, execute, complete, data, work);
  napi_queue_async_work(env, *work);
  return promise;
}

static void define(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  define(env, exports, "feed", chunker_feed);
  define(env, exports, "feedAsync", chunker_feed_async);
  define(env, exports, "poly1305", poly1305_mac);
  define(env, exports, "sha256", sha256_async);
  define(env, exports, "futimens", futimens_ns);
  define(env, exports, "lutimens", lutimens_ns);
  define(env, exports, "mallocArenas", malloc_arenas);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
