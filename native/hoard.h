/* Shared declarations of hoard's native addon (built by `npm install` through node-gyp; optional). */
#ifndef HOARD_H
#define HOARD_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* The data pointer and byte length of a typed array argument, or NULL when it is not one. */
void *typed(napi_env env, napi_value v, size_t *len);

/* Rejects `d` with an Error of `msg`. */
void reject_deferred(napi_env env, napi_deferred d, const char *msg);

/* Creates a promise and queues `execute` on libuv's thread pool for `data`; `complete` settles it. */
napi_value queue_async(napi_env env, const char *name, napi_async_execute_callback execute,
                       napi_async_complete_callback complete, void *data, napi_async_work *work, napi_deferred *deferred);

napi_value chunker_feed(napi_env env, napi_callback_info info);
napi_value chunker_feed_async(napi_env env, napi_callback_info info);
napi_value poly1305_mac(napi_env env, napi_callback_info info);
napi_value sha256_async(napi_env env, napi_callback_info info);
napi_value futimens_ns(napi_env env, napi_callback_info info);
napi_value lutimens_ns(napi_env env, napi_callback_info info);
napi_value malloc_arenas(napi_env env, napi_callback_info info);
#endif
