/*
 * The resident daemon's sockets (src/daemon/PROTOCOL.md): an abstract unix socket
 * per network namespace, accept with the caller's credentials (SO_PEERCRED, which
 * neither Node nor Bun exposes), and reads/writes that always have a bound.
 *
 * Connection sockets are non-blocking; every wait is a poll() with a timeout, so a
 * client that stops sending can hold a worker for at most that long.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cnikit_native.h"

int wait_fd(int fd, short events, int timeout_ms) {
  struct pollfd pfd = {.fd = fd, .events = events};
  int r;
  do {
    r = poll(&pfd, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline) {
  int64_t left = deadline - now_ms();
  return left < 0 ? 0 : (int)left;
}

/* An abstract address: sun_path[0] is NUL and the name follows, not NUL-terminated. */
static int abstract_address(napi_env env, napi_value name, struct sockaddr_un *addr, socklen_t *len) {
  char buf[sizeof addr->sun_path];
  if (!get_str(env, name, buf, sizeof buf - 1) || buf[0] == '\0') {
    throw_type(env, "socket name must be a non-empty string of at most 106 bytes");
    return 0;
  }
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  size_t n = strlen(buf);
  memcpy(addr->sun_path + 1, buf, n);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
  return 1;
}

/* unixListen(name, backlog): a non-blocking listening socket on the abstract name; with
   backlog -1 only bound (unixStartListening listens). */
static napi_value unix_listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct sockaddr_un addr;
  socklen_t len;
  int32_t backlog;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!abstract_address(env, argv[0], &addr, &len)) return NULL;
  if (!get_int(env, argv[1], &backlog)) return throw_type(env, "backlog must be a number");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", NULL);
  if (bind(fd, (struct sockaddr *)&addr, len) < 0 || (backlog >= 0 && listen(fd, backlog) < 0)) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, err == EADDRINUSE ? "bind" : "listen", NULL);
  }
  return make_int(env, fd);
}

/* unixStartListening(fd, backlog): listen() on a socket unixListen bound with backlog -1.
   Until then the name is ours but a connect is refused, so callers run standalone. */
static napi_value unix_start_listening(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, backlog;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_int(env, argv[0], &fd) || !get_int(env, argv[1], &backlog))
    return throw_type(env, "unixStartListening(fd, backlog) takes two numbers");
  if (listen(fd, backlog) < 0) return throw_errno(env, errno, "listen", NULL);
  return NULL;
}

/*
 * unixAccept(fd, timeoutMs, wakeFd?): null when nobody connected in time, another worker
 * took the connection first, or wakeFd (an eventfd of wakeFdCreate) was signalled (it is
 * drained); else {fd, pid, uid, gid} of a non-blocking connection. The wake fd lets a
 * worker that stood in for a busy one be sent back to waiting at once, instead of
 * polling for that on a short timeout. A listening socket that was shut down makes
 * accept fail with EINVAL: thrown.
 */
static napi_value unix_accept(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  int32_t fd, timeout_ms, wake_fd = -1;
  size_t argc = 3;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &timeout_ms) ||
      (argc > 2 && !get_int(env, argv[2], &wake_fd)))
    return throw_type(env, "unixAccept(fd, timeoutMs, wakeFd?) takes numbers");
  struct pollfd pfds[2] = {{.fd = fd, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
  int ready;
  do {
    ready = poll(pfds, wake_fd >= 0 ? 2 : 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return throw_errno(env, errno, "poll", NULL);
  if (wake_fd >= 0 && (pfds[1].revents & POLLIN)) {
    uint64_t count;
    (void)!read(wake_fd, &count, sizeof count); /* non-blocking: drained, or already drained */
  }
  if (ready == 0 || !(pfds[0].revents & (POLLIN | POLLERR | POLLHUP))) {
    napi_get_null(env, &result);
    return result;
  }
  int conn;
  do {
    conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  } while (conn < 0 && errno == EINTR);
  if (conn < 0) {
    if (errno == EAGAIN || errno == ECONNABORTED) {
      napi_get_null(env, &result);
      return result;
    }
    return throw_errno(env, errno, "accept4", NULL);
  }
  struct ucred cred;
  socklen_t cred_len = sizeof cred;
  if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0) {
    int err = errno;
    close(conn);
    return throw_errno(env, err, "getsockopt", "SO_PEERCRED");
  }
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "fd", make_int(env, conn));
  napi_set_named_property(env, result, "pid", make_int(env, cred.pid));
  napi_set_named_property(env, result, "uid", make_int(env, cred.uid));
  napi_set_named_property(env, result, "gid", make_int(env, cred.gid));
  return result;
}

/*
 * unixConnect(name, timeoutMs, netns?): a non-blocking connection to the abstract name
 * of netns (null: ours). An abstract name is looked up in the namespace the socket was
 * created in, so only socket() needs to happen inside netns.
 */
static napi_value unix_connect(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct sockaddr_un addr;
  socklen_t len;
  int32_t timeout_ms;
  int ns_fd, owned, orig, fd, err;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!abstract_address(env, argv[0], &addr, &len)) return NULL;
  if (!get_int(env, argv[1], &timeout_ms)) return throw_type(env, "timeoutMs must be a number");
  if (!open_target(env, argv[2], &ns_fd, &owned)) return NULL;
  if (!enter_netns(env, ns_fd, &orig)) {
    if (owned) close(ns_fd);
    return NULL;
  }
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  err = errno;
  leave_netns(orig);
  if (owned) close(ns_fd);
  if (fd < 0) return throw_errno(env, err, "socket", NULL);
  /* A non-blocking unix connect fails at once (EAGAIN) on a full backlog instead of
   * waiting; a blocking one bounded by SO_SNDTIMEO waits up to the timeout. */
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int r;
  do {
    r = connect(fd, (struct sockaddr *)&addr, len);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    err = errno == EAGAIN || errno == EINPROGRESS ? ETIMEDOUT : errno;
    close(fd);
    return throw_errno(env, err, "connect", NULL);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return make_int(env, fd);
}

/*
 * sockRead(fd, length, timeoutMs): exactly `length` bytes, or fewer when the peer
 * closed first (EOF). ETIMEDOUT when the bytes did not all come within timeoutMs.
 */
static napi_value sock_read(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  int32_t fd, length, timeout_ms;
  void *data;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_int(env, argv[0], &fd) || !get_int(env, argv[1], &length) || !get_int(env, argv[2], &timeout_ms) || length < 0)
    return throw_type(env, "sockRead(fd, length, timeoutMs) takes three numbers");
  char *buf = malloc(length > 0 ? (size_t)length : 1);
  if (!buf) return throw_errno(env, ENOMEM, "malloc", NULL);
  int64_t deadline = now_ms() + timeout_ms;
  size_t got = 0;
  while (got < (size_t)length) {
    ssize_t n = recv(fd, buf + got, (size_t)length - got, 0);
    if (n > 0) {
      got += (size_t)n;
      continue;
    }
    if (n == 0) break; /* EOF */
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      int err = errno;
      free(buf);
      return throw_errno(env, err, "recv", NULL);
    }
    int ready = wait_fd(fd, POLLIN, remaining_ms(deadline));
    if (ready <= 0) {
      int err = ready == 0 ? ETIMEDOUT : errno;
      free(buf);
      return throw_errno(env, err, "recv", NULL);
    }
  }
  napi_status status = napi_create_buffer_copy(env, got, buf, &data, &result);
  free(buf);
  return status == napi_ok ? result : NULL;
}

/* sockWrite(fd, buffer, timeoutMs): all of it, or ETIMEDOUT/EPIPE (never SIGPIPE). */
static napi_value sock_write(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, timeout_ms;
  void *data;
  size_t len, sent = 0;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_int(env, argv[0], &fd) || !get_int(env, argv[2], &timeout_ms))
    return throw_type(env, "sockWrite(fd, buffer, timeoutMs): fd and timeout must be numbers");
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) return throw_type(env, "data must be a Buffer");
  int64_t deadline = now_ms() + timeout_ms;
  while (sent < len) {
    ssize_t n = send(fd, (char *)data + sent, len - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += (size_t)n;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return throw_errno(env, errno, "send", NULL);
    int ready = wait_fd(fd, POLLOUT, remaining_ms(deadline));
    if (ready <= 0) return throw_errno(env, ready == 0 ? ETIMEDOUT : errno, "send", NULL);
  }
  return make_int(env, (int64_t)sent);
}

/* shutdown(fd, how): 0 read, 1 write, 2 both. On a listening socket it wakes every accept. */
static napi_value sock_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, how;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_int(env, argv[0], &fd) || !get_int(env, argv[1], &how)) return throw_type(env, "shutdown(fd, how) takes two numbers");
  if (shutdown(fd, how) < 0 && errno != ENOTCONN) return throw_errno(env, errno, "shutdown", NULL);
  return NULL;
}

/*
 * execInNetnsReplace(netns, file, argv[]): enters netns on this thread and execv()s
 * file, so the new image (every thread it will start) lives in netns and keeps our
 * pid. Returns only by throwing.
 */
static napi_value exec_replace(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char file[4096];
  uint32_t count, set_count = 0;
  int ns_fd, owned;
  size_t argc = 4;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return throw_type(env, "execInNetnsReplace(netns, file, argv, setEnv?)");
  if (!get_str(env, argv[1], file, sizeof file)) return throw_type(env, "file must be a string");
  char **args = read_argv(env, argv[2], &count);
  if (!args) return NULL;
  /* setEnv: "NAME=value" strings added to the environment the new image starts with. */
  char **set = argc > 3 && !is_nullish(env, argv[3]) ? read_argv(env, argv[3], &set_count) : NULL;
  if (argc > 3 && !is_nullish(env, argv[3]) && !set) {
    free_argv(args, count);
    return NULL;
  }
  for (uint32_t i = 0; i < set_count; i++) {
    char *eq = strchr(set[i], '=');
    if (!eq || eq == set[i]) {
      free_argv(set, set_count);
      free_argv(args, count);
      return throw_type(env, "setEnv entries must be NAME=value");
    }
    *eq = '\0';
    setenv(set[i], eq + 1, 1);
    *eq = '=';
  }
  if (set) free_argv(set, set_count);
  napi_value result = NULL;
  if (!open_target(env, argv[0], &ns_fd, &owned)) goto out;
  if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) < 0) {
    int err = errno;
    if (owned) close(ns_fd);
    throw_errno(env, err, "setns", NULL);
    goto out;
  }
  if (owned) close(ns_fd);
  execv(file, args);
  throw_errno(env, errno, "execv", file);
out:
  free_argv(args, count);
  return result;
}

/*
 * sdNotify(message): tells systemd (Type=notify) about us, e.g. "READY=1", through
 * $NOTIFY_SOCKET (a path, or "@name" for an abstract one). false when not under systemd
 * or when nothing received it.
 */
static napi_value sd_notify(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  char message[512];
  const char *where = getenv("NOTIFY_SOCKET");
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_str(env, argv[0], message, sizeof message)) return throw_type(env, "message must be a string");
  if (!where || (where[0] != '/' && where[0] != '@') || strlen(where) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    napi_get_boolean(env, 0, &result);
    return result;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t n = strlen(where);
  memcpy(addr.sun_path, where, n);
  if (where[0] == '@') addr.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", NULL);
  ssize_t sent = sendto(fd, message, strlen(message), MSG_NOSIGNAL, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
  close(fd);
  /* systemd gone or not listening: a notification is advice, never a reason to fail. */
  napi_get_boolean(env, sent >= 0, &result);
  return result;
}

/* wakeFdCreate(): a non-blocking eventfd that unixAccept also waits on. */
static napi_value wake_fd_create(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return throw_errno(env, errno, "eventfd", NULL);
  return make_int(env, fd);
}

/* wakeFdSignal(fd): makes the unixAccept waiting on fd (or the next one) return null. */
static napi_value wake_fd_signal(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  uint64_t one = 1;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_int(env, argv[0], &fd)) return throw_type(env, "wakeFdSignal(fd) takes a number");
  /* EAGAIN: the counter is already non-zero, so the waiter will wake anyway. */
  if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN) return throw_errno(env, errno, "write", "eventfd");
  return NULL;
}

void cnikit_unix_exports(napi_env env, napi_value exports) {
  EXPORT("wakeFdCreate", wake_fd_create);
  EXPORT("wakeFdSignal", wake_fd_signal);
  EXPORT("unixListen", unix_listen);
  EXPORT("unixStartListening", unix_start_listening);
  EXPORT("unixAccept", unix_accept);
  EXPORT("unixConnect", unix_connect);
  EXPORT("sockRead", sock_read);
  EXPORT("sockWrite", sock_write);
  EXPORT("shutdown", sock_shutdown);
  EXPORT("execInNetnsReplace", exec_replace);
  EXPORT("sdNotify", sd_notify);
}
