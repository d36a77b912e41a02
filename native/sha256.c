/*
 * SHA-256 of one or more byte ranges on libuv's thread pool, through the OpenSSL that Node itself
 * carries (its symbols are exported to addons). The main thread hands over references to the
 * buffers, not copies, and goes on chunking; the promise settles with the digest as 64 hex chars.
 *
 * sha256(parts: Uint8Array[]) -> Promise<string>. The caller must not change the bytes until it settles.
 */
#include <stdlib.h>
#include <openssl/evp.h>
#include "hoard.h"

#define MAX_PARTS 8

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref refs[MAX_PARTS];
  const uint8_t *data[MAX_PARTS];
  size_t len[MAX_PARTS];
  uint32_t parts;
  unsigned char md[32];
  int ok;
} sha_job;

static void execute(napi_env env, void *p) {
  (void)env;
  sha_job *j = p;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  unsigned int n = 0;
  j->ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
  for (uint32_t i = 0; j->ok && i < j->parts; i++) j->ok = EVP_DigestUpdate(c, j->data[i], j->len[i]) == 1;
  if (j->ok) j->ok = EVP_DigestFinal_ex(c, j->md, &n) == 1 && n == 32;
  EVP_MD_CTX_free(c);
}

static void complete(napi_env env, napi_status status, void *p) {
  sha_job *j = p;
  for (uint32_t i = 0; i < j->parts; i++) napi_delete_reference(env, j->refs[i]);
  if (status == napi_ok && j->ok) {
    static const char hex[] = "0123456789abcdef";
    char s[64];
    napi_value v;
    for (int i = 0; i < 32; i++) { s[2 * i] = hex[j->md[i] >> 4]; s[2 * i + 1] = hex[j->md[i] & 15]; }
    napi_create_string_latin1(env, s, 64, &v);
    napi_resolve_deferred(env, j->deferred, v);
  } else {
    reject_deferred(env, j->deferred, "sha256 failed");
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

napi_value sha256_async(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t parts = 0;
  bool isArray = false;
  if (argc < 1 || napi_is_array(env, argv[0], &isArray) != napi_ok || !isArray ||
      napi_get_array_length(env, argv[0], &parts) != napi_ok || parts == 0 || parts > MAX_PARTS) {
    napi_throw_type_error(env, NULL, "sha256: expects an array of 1 to 8 Uint8Arrays");
    return NULL;
  }
  sha_job *j = calloc(1, sizeof *j);
  if (!j) { napi_throw_error(env, NULL, "sha256: out of memory"); return NULL; }
  for (uint32_t i = 0; i < parts; i++) {
    napi_value el;
    napi_get_element(env, argv[0], i, &el);
    size_t n = 0;
    uint8_t *d = typed(env, el, &n);
    if (!d && n) {
      for (uint32_t k = 0; k < j->parts; k++) napi_delete_reference(env, j->refs[k]);
      free(j);
      napi_throw_type_error(env, NULL, "sha256: expects Uint8Arrays");
      return NULL;
    }
    napi_create_reference(env, el, 1, &j->refs[i]);
    j->data[i] = d;
    j->len[i] = n;
    j->parts = i + 1;
  }
  return queue_async(env, "hoard.sha256", execute, complete, j, &j->work, &j->deferred);
}
