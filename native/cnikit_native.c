/*
 * cnikit native layer: the few things that truly need a syscall.
 *
 * - netlink sockets opened inside a given network namespace: the calling thread
 *   enters the namespace only around socket(), then returns; the socket stays
 *   bound to the namespace it was created in, so later requests need no switch;
 * - blocking send/receive on such a socket (a plugin does a dozen requests, an
 *   event loop would only add cost);
 * - flock, and opening a file (a sysctl under /proc/sys/net) inside a netns;
 * - creating and deleting named network namespaces the way `ip netns` does.
 *
 * Every failure throws an Error carrying errno, code (e.g. "ENOENT") and syscall.
 * If returning to the original namespace fails the process aborts: carrying on
 * in the wrong namespace would configure the wrong host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cnikit_native.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif


/* Throws an Error with errno/syscall properties (native/index.ts adds the errno's name,
   from the one table in native/errno.ts); returns NULL for convenience. */
napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  char msg[512];
  if (path)
    snprintf(msg, sizeof msg, "%s %s: %s", syscall, path, strerror(err));
  else
    snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value message, error, value;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_int32(env, err, &value);
  napi_set_named_property(env, error, "errno", value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "syscall", value);
  if (path) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, error, "path", value);
  }
  napi_throw(env, error);
  return NULL;
}

napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  for (size_t i = argc; i < want; i++) napi_get_undefined(env, &argv[i]);
  return 1;
}

int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/* Copies a JS string into buf; returns 0 if v is not a string or does not fit. */
int get_str(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return 0;
  return len < size - 1;
}

int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_undefined || t == napi_null;
}

napi_value make_int(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

/*
 * A namespace target is null/undefined (stay where we are), an fd number, or a path.
 * Resolves it to an fd we own (*owned=1) or the caller's fd (*owned=0); -1 means "none".
 */
int open_target(napi_env env, napi_value target, int *fd, int *owned) {
  char path[4096];
  napi_valuetype t;
  napi_typeof(env, target, &t);
  *fd = -1;
  *owned = 0;
  if (t == napi_undefined || t == napi_null) return 1;
  if (t == napi_number) {
    int32_t n;
    if (!get_int(env, target, &n)) return 0;
    *fd = n;
    return 1;
  }
  if (!get_str(env, target, path, sizeof path)) {
    throw_type(env, "netns must be a path, an fd or null");
    return 0;
  }
  *fd = open(path, O_RDONLY | O_CLOEXEC);
  if (*fd < 0) {
    throw_errno(env, errno, "open", path);
    return 0;
  }
  *owned = 1;
  return 1;
}

/* Enters ns_fd on this thread, remembering the original netns in *orig. */
int enter_netns(napi_env env, int ns_fd, int *orig) {
  *orig = -1;
  if (ns_fd < 0) return 1;
  *orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*orig < 0) {
    throw_errno(env, errno, "open", "/proc/thread-self/ns/net");
    return 0;
  }
  if (setns(ns_fd, CLONE_NEWNET) < 0) {
    int err = errno;
    close(*orig);
    *orig = -1;
    throw_errno(env, err, "setns", NULL);
    return 0;
  }
  return 1;
}

void leave_netns(int orig) {
  if (orig < 0) return;
  if (setns(orig, CLONE_NEWNET) < 0) {
    fprintf(stderr, "cnikit: cannot return to the original network namespace: %s\n", strerror(errno));
    abort();
  }
  close(orig);
}

/* netlinkOpen(netns: string|number|null, protocol: number): fd */
static napi_value netlink_open_with(napi_env env, napi_value *argv) {
  int32_t protocol = NETLINK_ROUTE;
  int ns_fd, owned, orig, fd, err = 0;
  if (!is_nullish(env, argv[1]) && !get_int(env, argv[1], &protocol))
    return throw_type(env, "protocol must be a number");
  if (!open_target(env, argv[0], &ns_fd, &owned)) return NULL;
  if (!enter_netns(env, ns_fd, &orig)) {
    if (owned) close(ns_fd);
    return NULL;
  }
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) err = errno;
  leave_netns(orig);
  if (owned) close(ns_fd);
  if (fd < 0) return throw_errno(env, err, "socket", NULL);

  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    err = errno;
    close(fd);
    return throw_errno(env, err, "bind", NULL);
  }
  int one = 1;
  /* Extended acks carry the kernel's reason text; capped acks keep error replies small. */
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  int rcvbuf = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  return make_int(env, fd);
}

static napi_value netlink_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  return netlink_open_with(env, argv);
}

int get_fd_and_buffer(napi_env env, napi_callback_info info, int32_t *fd, void **data, size_t *len) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return 0;
  if (!get_int(env, argv[0], fd)) {
    throw_type(env, "fd must be a number");
    return 0;
  }
  if (napi_get_buffer_info(env, argv[1], data, len) != napi_ok) {
    throw_type(env, "data must be a Buffer");
    return 0;
  }
  return 1;
}

/* netlinkSend(fd, buffer): bytes sent, to the kernel (port 0). */
static napi_value netlink_send(napi_env env, napi_callback_info info) {
  int32_t fd;
  void *data;
  size_t len;
  if (!get_fd_and_buffer(env, info, &fd, &data, &len)) return NULL;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do {
    n = sendto(fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "sendto", NULL);
  return make_int(env, n);
}

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One datagram from the kernel (it may hold several messages), waiting at most
 * timeout_ms (-1: no bound); NULL result and *timed_out when none came. Datagrams sent
 * by any other socket (sender nl_pid != 0: a process in the container's namespace can
 * unicast to our port) are dropped unread, so nobody but the kernel can answer us.
 */
/* The kernel's cap on a dump part (32 KiB less the skb overhead). */
#define DUMP_CHUNK 32768

static napi_value netlink_recv_fd(napi_env env, int fd, int timeout_ms, int *timed_out) {
  napi_value result;
  char probe;
  ssize_t size, n;
  void *data;
  int64_t deadline = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
  *timed_out = 0;
  for (;;) {
    if (deadline >= 0) {
      int64_t left = deadline - monotonic_ms();
      /* A bound already spent (or 0: "only what is queued") still looks once, without waiting. */
      int ready = wait_fd(fd, POLLIN, left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left);
      if (ready < 0) return throw_errno(env, errno, "poll", NULL);
      if (ready == 0) {
        *timed_out = 1;
        return NULL;
      }
    }
    struct sockaddr_nl from = {0};
    socklen_t from_len = sizeof from;
    /* MSG_PEEK|MSG_TRUNC returns the real datagram length, so one read never truncates.
     * The peek offers DUMP_CHUNK bytes: the kernel sizes a dump's next parts by the largest
     * read it has seen, so a 1-byte peek kept them at one page (572 datagrams for the 30,000
     * entries of a 10,000-peer l3 VTEP, and a VXLAN FDB dump walks its list from the start
     * for every part), as iproute2 offers 32 KiB for the same reason. */
    char chunk[DUMP_CHUNK];
    do {
      size = recvfrom(fd, chunk, sizeof chunk, MSG_PEEK | MSG_TRUNC, (struct sockaddr *)&from, &from_len);
    } while (size < 0 && errno == EINTR);
    if (size < 0) return throw_errno(env, errno, "recv", NULL);
    if (from.nl_pid == 0) break;
    do n = recv(fd, &probe, 1, MSG_TRUNC); /* not the kernel's: consume it, unread */
    while (n < 0 && errno == EINTR);
  }
  if (napi_create_buffer(env, (size_t)(size > 0 ? size : 1), &data, &result) != napi_ok) return NULL;
  do {
    n = recv(fd, data, (size_t)(size > 0 ? size : 1), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "recv", NULL);
  if (n < size) {
    napi_value sliced;
    napi_create_buffer_copy(env, (size_t)n, data, NULL, &sliced);
    return sliced;
  }
  return result;
}

static napi_value netlink_recv(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_int(env, argv[0], &fd)) return throw_type(env, "fd must be a number");
  int timed_out;
  return netlink_recv_fd(env, fd, -1, &timed_out);
}

/* netlinkPortId(fd): the port id the kernel bound the socket to (its replies carry it). */
static napi_value netlink_port_id(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_int(env, argv[0], &fd)) return throw_type(env, "fd must be a number");
  struct sockaddr_nl local = {0};
  socklen_t len = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &len) < 0) return throw_errno(env, errno, "getsockname", NULL);
  return make_int(env, local.nl_pid);
}

/* netlinkSubscribe(netns, groups[]): a NETLINK_ROUTE socket in netns that has joined each
 * RTNLGRP_* group (numbers, not bit masks), for watching changes as they happen. */
static napi_value netlink_subscribe(napi_env env, napi_callback_info info) {
  napi_value argv[2], open_argv[2], fd_value, item;
  uint32_t count;
  int32_t fd, group;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (napi_get_array_length(env, argv[1], &count) != napi_ok || count > 64)
    return throw_type(env, "groups must be an array of at most 64 numbers");
  open_argv[0] = argv[0];
  napi_create_int32(env, NETLINK_ROUTE, &open_argv[1]);
  fd_value = netlink_open_with(env, open_argv);
  if (!fd_value || !get_int(env, fd_value, &fd)) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    napi_get_element(env, argv[1], i, &item);
    if (!get_int(env, item, &group)) {
      close(fd);
      return throw_type(env, "groups must be an array of at most 64 numbers");
    }
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, err, "setsockopt", "NETLINK_ADD_MEMBERSHIP");
    }
  }
  return fd_value;
}

/* netlinkRecvTimeout(fd, ms): one datagram like netlinkRecv, or null when none came in time. */
static napi_value netlink_recv_timeout(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  int32_t fd, timeout_ms;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_int(env, argv[0], &fd) || !get_int(env, argv[1], &timeout_ms))
    return throw_type(env, "netlinkRecvTimeout(fd, ms) takes two numbers");
  int timed_out;
  napi_value datagram = netlink_recv_fd(env, fd, timeout_ms, &timed_out);
  if (!timed_out) return datagram;
  napi_get_null(env, &result);
  return result;
}

/* readTimeout(fd, maxBytes, ms): what one read() of a pipe or socket gives once it is
 * readable (an empty buffer at EOF), or null when nothing came within ms (the caller keeps its own deadline). Blocking fds
 * we cannot reopen non-blocking (a socket as stdin) get a bound this way. */
static napi_value fd_read_timeout(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  int32_t fd, max_bytes, timeout_ms;
  void *data;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_int(env, argv[0], &fd) || !get_int(env, argv[1], &max_bytes) || !get_int(env, argv[2], &timeout_ms) ||
      max_bytes <= 0)
    return throw_type(env, "readTimeout(fd, maxBytes, ms) takes three numbers");
  int ready = wait_fd(fd, POLLIN, timeout_ms);
  if (ready < 0) return throw_errno(env, errno, "poll", NULL);
  if (ready == 0) {
    napi_get_null(env, &result);
    return result;
  }
  char *buf = malloc((size_t)max_bytes);
  if (!buf) return throw_errno(env, ENOMEM, "malloc", NULL);
  ssize_t n;
  do n = read(fd, buf, (size_t)max_bytes);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    free(buf);
    if (err == EAGAIN) { /* readable for someone else first: nothing for us yet */
      napi_get_null(env, &result);
      return result;
    }
    return throw_errno(env, err, "read", NULL);
  }
  napi_create_buffer_copy(env, (size_t)n, buf, &data, &result);
  free(buf);
  return result;
}

/* close(fd) */
static napi_value fd_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_int(env, argv[0], &fd)) return throw_type(env, "fd must be a number");
  if (close(fd) < 0) return throw_errno(env, errno, "close", NULL);
  return NULL;
}

/* flock(fd, operation): LOCK_SH=1, LOCK_EX=2, LOCK_NB=4, LOCK_UN=8. Blocking unless LOCK_NB. */
static napi_value fd_flock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, op;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_int(env, argv[0], &fd) || !get_int(env, argv[1], &op))
    return throw_type(env, "flock(fd, operation) takes two numbers");
  int r;
  do {
    r = flock(fd, op);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, errno, "flock", NULL);
  return NULL;
}

/*
 * openAt(netns, path, flags): fd of a file opened while this thread is inside netns.
 * /proc/sys/net resolves against the opener's namespace at open time, so a sysctl
 * file opened this way keeps pointing at that namespace for later writes.
 */
static napi_value open_in_netns(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char path[4096];
  int32_t flags;
  int ns_fd, owned, orig, fd, err = 0;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_str(env, argv[1], path, sizeof path)) return throw_type(env, "path must be a string");
  if (!get_int(env, argv[2], &flags)) return throw_type(env, "flags must be a number");
  if (!open_target(env, argv[0], &ns_fd, &owned)) return NULL;
  if (!enter_netns(env, ns_fd, &orig)) {
    if (owned) close(ns_fd);
    return NULL;
  }
  fd = open(path, flags | O_CLOEXEC);
  if (fd < 0) err = errno;
  leave_netns(orig);
  if (owned) close(ns_fd);
  if (fd < 0) return throw_errno(env, err, "open", path);
  return make_int(env, fd);
}

/* Makes the run dir (/run/netns) a shared mount point so namespace mounts propagate, as `ip netns` does. */
static int prepare_run_dir(napi_env env, const char *dir) {
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
    throw_errno(env, errno, "mkdir", dir);
    return 0;
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0) return 1;
    if (errno != EINVAL || attempt > 0) {
      throw_errno(env, errno, "mount", dir);
      return 0;
    }
    /* Not a mount point yet: bind it on itself, then retry making it shared. */
    if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) < 0) {
      throw_errno(env, errno, "mount", dir);
      return 0;
    }
  }
  return 1;
}

/* netnsCreate(dir, name): path of a new named namespace dir/name; EEXIST if taken. The
   directory comes from TypeScript (src/netns/netns.ts), the one place it is written. */
static napi_value netns_create(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  char dir[256], name[256], path[512];
  int orig, fd, err = 0;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_str(env, argv[0], dir, sizeof dir) || dir[0] != '/')
    return throw_type(env, "netns run directory must be an absolute path");
  if (!get_str(env, argv[1], name, sizeof name) || name[0] == 0 || strchr(name, '/') ||
      strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return throw_type(env, "netns name must be a non-empty string without '/'");
  if (!prepare_run_dir(env, dir)) return NULL;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "open", path);
  close(fd);

  orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig < 0) {
    err = errno;
    unlink(path);
    return throw_errno(env, err, "open", "/proc/thread-self/ns/net");
  }
  if (unshare(CLONE_NEWNET) < 0) {
    err = errno;
    close(orig);
    unlink(path);
    return throw_errno(env, err, "unshare", NULL);
  }
  if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) err = errno;
  leave_netns(orig);
  if (err) {
    unlink(path);
    return throw_errno(env, err, "mount", path);
  }
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &result);
  return result;
}

/* netnsUnshare(): an fd of a new, unnamed network namespace; this thread stays where it
   is. Nothing names the namespace, so it ends with its last fd (or process): nothing to
   leave behind, whatever kills us. The daemon's warm-up runs in such namespaces. */
static napi_value netns_unshare(napi_env env, napi_callback_info info) {
  (void)info;
  int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig < 0) return throw_errno(env, errno, "open", "/proc/thread-self/ns/net");
  if (unshare(CLONE_NEWNET) < 0) {
    int err = errno;
    close(orig);
    return throw_errno(env, err, "unshare", NULL);
  }
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int err = fd < 0 ? errno : 0;
  leave_netns(orig);
  if (fd < 0) return throw_errno(env, err, "open", "/proc/thread-self/ns/net");
  return make_int(env, fd);
}

/* netnsEnter(fd): moves this thread into the namespace of fd; returns an fd of the one it
   left (enter it again, then close it, to go back). */
static napi_value netns_enter(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  int orig;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_int(env, argv[0], &fd)) return throw_type(env, "netnsEnter(fd) takes an fd");
  if (!enter_netns(env, fd, &orig)) return NULL;
  return make_int(env, orig);
}

/* netnsDelete(path): lazily unmounts and removes a named namespace; ENOENT if absent. */
static napi_value netns_delete(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[4096];
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_str(env, argv[0], path, sizeof path)) return throw_type(env, "path must be a string");
  if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL) return throw_errno(env, errno, "umount2", path);
  if (unlink(path) < 0) return throw_errno(env, errno, "unlink", path);
  return NULL;
}

char **read_argv(napi_env env, napi_value array, uint32_t *count) {
  *count = 0;
  if (napi_get_array_length(env, array, count) != napi_ok || *count == 0 || *count > 255) {
    *count = 0;
    throw_type(env, "argv must be a non-empty array of strings");
    return NULL;
  }
  char **args = calloc(*count + 1, sizeof(char *));
  if (!args) {
    throw_errno(env, ENOMEM, "calloc", NULL);
    return NULL;
  }
  for (uint32_t i = 0; i < *count; i++) {
    napi_value item;
    size_t len;
    napi_get_element(env, array, i, &item);
    if (napi_get_value_string_utf8(env, item, NULL, 0, &len) != napi_ok || !(args[i] = malloc(len + 1))) {
      throw_type(env, "argv must be a non-empty array of strings");
      free_argv(args, *count);
      return NULL;
    }
    napi_get_value_string_utf8(env, item, args[i], len + 1, &len);
  }
  return args;
}

void free_argv(char **args, uint32_t count) {
  if (!args) return;
  for (uint32_t i = 0; i < count; i++) free(args[i]);
  free(args);
}

/*
 * execInNetns(netns, argv[]): runs a program inside netns and returns its exit status
 * (128+signal when killed). fork, setns in the child, execvp; the parent waits.
 */
static napi_value exec_in_netns(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t count;
  int ns_fd, owned;
  if (!get_args(env, info, 2, argv)) return NULL;
  char **args = read_argv(env, argv[1], &count);
  if (!args) return NULL;
  napi_value result = NULL;
  if (!open_target(env, argv[0], &ns_fd, &owned)) goto out;
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    if (owned) close(ns_fd);
    throw_errno(env, err, "fork", NULL);
    goto out;
  }
  if (pid == 0) {
    if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) < 0) {
      fprintf(stderr, "cnikit: setns: %s\n", strerror(errno));
      _exit(126);
    }
    execvp(args[0], args);
    fprintf(stderr, "cnikit: %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  if (owned) close(ns_fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) { throw_errno(env, errno, "waitpid", NULL); goto out; }
  }
  result = make_int(env, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
out:
  free_argv(args, count);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  EXPORT("netlinkOpen", netlink_open);
  EXPORT("netlinkSend", netlink_send);
  EXPORT("netlinkRecv", netlink_recv);
  EXPORT("close", fd_close);
  EXPORT("flock", fd_flock);
  EXPORT("readTimeout", fd_read_timeout);
  EXPORT("netlinkPortId", netlink_port_id);
  EXPORT("openAt", open_in_netns);
  EXPORT("netnsCreate", netns_create);
  EXPORT("netnsDelete", netns_delete);
  EXPORT("netnsUnshare", netns_unshare);
  EXPORT("netnsEnter", netns_enter);
  EXPORT("execInNetns", exec_in_netns);
  EXPORT("netlinkSubscribe", netlink_subscribe);
  EXPORT("netlinkRecvTimeout", netlink_recv_timeout);
  cnikit_unix_exports(env, exports);
  cnikit_detached_exports(env, exports);
  return exports;
}

NAPI_MODULE(cnikit_native, init)
