/* What the addon's C files share: error throwing, argument reading, entering a netns. */
#ifndef CNIKIT_NATIVE_H
#define CNIKIT_NATIVE_H

#include <node_api.h>
#include <poll.h>
#include <stdint.h>

napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path);
napi_value throw_type(napi_env env, const char *msg);
int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
int get_int(napi_env env, napi_value v, int32_t *out);
int get_str(napi_env env, napi_value v, char *buf, size_t size);
/* (fd, Buffer) arguments; 0 after throwing. */
int get_fd_and_buffer(napi_env env, napi_callback_info info, int32_t *fd, void **data, size_t *len);
int is_nullish(napi_env env, napi_value v);
napi_value make_int(napi_env env, int64_t n);
int open_target(napi_env env, napi_value target, int *fd, int *owned);
int enter_netns(napi_env env, int ns_fd, int *orig);
void leave_netns(int orig);
/* A JS array of 1..255 strings as a NULL-terminated argv (throws and returns NULL otherwise). */
char **read_argv(napi_env env, napi_value array, uint32_t *count);
void free_argv(char **args, uint32_t count);

/* poll() one fd for `events` up to timeout_ms (negative: forever), retrying on EINTR:
 * 1 ready, 0 timed out, -1 error (errno set). */
int wait_fd(int fd, short events, int timeout_ms);

#define EXPORT(name, fn)                                             \
  do {                                                               \
    napi_value f;                                                    \
    napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f); \
    napi_set_named_property(env, exports, name, f);                  \
  } while (0)

/* cnikit_unix.c: the resident daemon's socket calls. */
void cnikit_unix_exports(napi_env env, napi_value exports);
/* cnikit_detached.c: a netlink request sent on a thread of its own, and polling several fds. */
void cnikit_detached_exports(napi_env env, napi_value exports);

#endif
