/*
 * Setting file times to the nanosecond. Node's futimes/lutimes take seconds as a double, which
 * holds about a quarter of a microsecond at today's dates, so restored times lost their last digits;
 * restic restores the snapshot's nanoseconds. Arguments are (fd or path, atime seconds, atime
 * nanoseconds, mtime seconds, mtime nanoseconds); seconds as doubles (exact up to 2^53).
 */
#define _GNU_SOURCE
#include "hoard.h"
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static int read_times(napi_env env, napi_value *argv, struct timespec ts[2]) {
  double v[4];
  for (int i = 0; i < 4; i++) {
    if (napi_get_value_double(env, argv[i + 1], &v[i]) != napi_ok) return -1;
  }
  ts[0].tv_sec = (time_t)v[0];
  ts[0].tv_nsec = (long)v[1];
  ts[1].tv_sec = (time_t)v[2];
  ts[1].tv_nsec = (long)v[3];
  if (ts[0].tv_nsec < 0 || ts[0].tv_nsec > 999999999 || ts[1].tv_nsec < 0 || ts[1].tv_nsec > 999999999) return -1;
  return 0;
}

/* Throws an Error with `code` set to the errno name, as Node's fs does (EPERM, ENOENT, ...). */
static napi_value throw_errno(napi_env env, const char *call, int err) {
  napi_value msg, code, e;
  char text[160];
  const char *name = err == EPERM ? "EPERM" : err == ENOENT ? "ENOENT" : err == EACCES ? "EACCES" : err == EBADF ? "EBADF" : err == EROFS ? "EROFS" : "EIO";
  snprintf(text, sizeof text, "%s: %s, %s", name, strerror(err), call);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &e);
  napi_set_named_property(env, e, "code", code);
  napi_throw(env, e);
  return NULL;
}

napi_value futimens_ns(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd;
  struct timespec ts[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 5 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || read_times(env, argv, ts) != 0) {
    napi_throw_type_error(env, NULL, "futimens: bad arguments");
    return NULL;
  }
  if (futimens(fd, ts) != 0) return throw_errno(env, "futimens", errno);
  return NULL;
}

/* Path form, never following a final symlink (for restored symlinks). The path is a Buffer of bytes. */
napi_value lutimens_ns(napi_env env, napi_callback_info info) {
  size_t argc = 5, len;
  napi_value argv[5];
  struct timespec ts[2];
  char path[4097];
  void *data;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 5 || napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok || len == 0 || len >= sizeof path || memchr(data, 0, len) || read_times(env, argv, ts) != 0) {
    napi_throw_type_error(env, NULL, "lutimens: bad arguments");
    return NULL;
  }
  memcpy(path, data, len);
  path[len] = 0;
  if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0) return throw_errno(env, "utimensat", errno);
  return NULL;
}
