/*
 * cnikit-front: what the plugin names (bridge, veth, vxlan-overlay, host-local) point
 * to. A plugin call is handed to the resident daemon (`cnikit daemon`) over the
 * abstract unix socket of our network namespace, so it costs a connection instead
 * of starting the 100+ MB Bun executable; when no daemon serves us, we exec that
 * executable (`cnikit` beside our real path) and it runs the plugin standalone.
 * The protocol, and what happens when things go wrong, is src/daemon/PROTOCOL.md.
 *
 * Only libc: this runs before every plugin call, so it must start in well under a
 * millisecond and cannot depend on anything the daemon or Bun ships.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef CNIKIT_BUILD_ID
#error "compile with -DCNIKIT_BUILD_ID='\"<id>\"' (scripts/build.sh computes it)"
#endif
_Static_assert(sizeof CNIKIT_BUILD_ID > 1 && sizeof CNIKIT_BUILD_ID <= 65, "build id must be 1..64 bytes");

#define SOCKET_NAME "cnikit-daemon/1"
#define MAX_NAME 255
#define MAX_ENV (1u << 20)
#define MAX_STDIN (64u << 20)
#define MAX_OUT (64u << 20) /* an 'o' frame larger than any stdin we send is not a result */
#define CONNECT_MS 1000
#define VERDICT_MS 130000
#define GRACE_MS 5000 /* added to the daemon's limit_ms: it answers a late request itself */
/* A body this small goes right behind the hello (magic CNK2): it fits in the socket's
 * buffer, so sending it never waits for the daemon, and the daemon reads it without a
 * round trip after its verdict. A refused call has run nothing either way. */
#define EAGER_MAX (64u << 10)
#define DEFAULT_VERSION "1.1.0"
/* The plugin's own stdin time bound (src/cni/process-io.ts), with its message, so both
 * paths answer alike: a config is written at once. */
#define STDIN_MS 10000
#define STDIN_TOO_SLOW "error reading from stdin: stdin did not end within 10 s (a network config is written at once)"

extern char **environ;

struct buf {
  char *data;
  size_t len, cap;
};

static char **g_argv;
static const char *g_plugin = "";
static int g_debug;
static void (*g_sigpipe)(int); /* SIGPIPE as we got it: the exec'd cnikit gets it back */
static struct buf g_stdin;
static int g_stdin_taken; /* fd 0 was read from: standalone needs the bytes back */

enum { IO_OK = 0, IO_EOF, IO_TIMEOUT, IO_ERROR };

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int reserve(struct buf *b, size_t want) {
  if (want <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 65536;
  while (cap < want) cap *= 2;
  char *data = realloc(b->data, cap);
  if (!data) return 0;
  b->data = data;
  b->cap = cap;
  return 1;
}

static void append(struct buf *b, const char *s, size_t n) {
  if (n == 0 || !reserve(b, b->len + n)) return; /* short messages only: truncation is harmless */
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

/* Writes to stdout, stderr, the memfd: all of it, or -1. They may be non-blocking
 * pipes inherited from the caller, hence the poll. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EAGAIN) {
      struct pollfd pfd = {.fd = fd, .events = POLLOUT};
      poll(&pfd, 1, -1);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void append_json_string(struct buf *b, const char *s) {
  append(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      append(b, esc, 2);
    } else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      append(b, esc, 6);
    } else {
      append(b, (const char *)&c, 1);
    }
  }
  append(b, "\"", 1);
}

static const char *skip_space(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/*
 * Our own errors speak the config's cniVersion, as the plugin's would. A scan, not a
 * parser (we hold no JSON library): strings and nesting are tracked only so that a
 * prevResult's cniVersion, or a value that happens to read "cniVersion", is not taken.
 */
static const char *config_version(void) {
  static const char *const known[] = {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
  if (!g_stdin.data) return DEFAULT_VERSION;
  const char *p = g_stdin.data, *end = p + g_stdin.len;
  int depth = 0;
  while (p < end) {
    char c = *p++;
    if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == '"') {
      const char *s = p;
      while (p < end && *p != '"') p += (*p == '\\' && p + 1 < end) ? 2 : 1;
      if (p >= end) break;
      size_t n = (size_t)(p++ - s);
      if (depth != 1 || n != 10 || memcmp(s, "cniVersion", 10) != 0) continue;
      const char *q = skip_space(p, end);
      if (q >= end || *q != ':') continue; /* a value, not the key */
      q = skip_space(q + 1, end);
      for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (end - q >= 7 && q[0] == '"' && memcmp(q + 1, known[i], 5) == 0 && q[6] == '"') return known[i];
      return DEFAULT_VERSION;
    }
  }
  return DEFAULT_VERSION;
}

/* Prints a CNI error (the only thing we ever put on stdout ourselves) and exits 1. */
static void __attribute__((noreturn)) cni_error(int code, const char *msg, const char *details) {
  struct buf out = {0};
  char head[64];
  append(&out, "{\"cniVersion\":", 14);
  append_json_string(&out, config_version());
  snprintf(head, sizeof head, ",\"code\":%d,\"msg\":", code);
  append(&out, head, strlen(head));
  append_json_string(&out, msg);
  if (details && *details) {
    append(&out, ",\"details\":", 11);
    append_json_string(&out, details);
  }
  append(&out, "}", 1);
  write_all(1, out.data, out.len);
  exit(1);
}

/* The daemon failed us after we committed to it: code 11, "try again later". */
static void __attribute__((noreturn)) daemon_error(const char *what, const char *extra) {
  char msg[512], details[512];
  snprintf(msg, sizeof msg, "cnikit daemon: %s", what);
  snprintf(details, sizeof details, "plugin %s, socket @%s, build %s%s%s", g_plugin, SOCKET_NAME, CNIKIT_BUILD_ID,
           extra ? "; " : "", extra ? extra : "");
  cni_error(11, msg, details);
}

/* Moves what we read of stdin into a memfd on fd 0. Past MAX_STDIN we stopped reading, and
 * what we hand over is already over the plugin's own bound (the same 64 MiB), so it refuses
 * it: nothing more is read, and memory stays bounded with /dev/zero or an endless writer. */
static void hand_back_stdin(void) {
  int fd = memfd_create("cnikit-stdin", MFD_CLOEXEC);
  if (fd < 0) cni_error(999, "cnikit front end: memfd_create failed", strerror(errno));
  if (write_all(fd, g_stdin.data, g_stdin.len) < 0) cni_error(999, "cnikit front end: cannot copy stdin", strerror(errno));
  if (lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, 0) < 0) cni_error(999, "cnikit front end: cannot hand over stdin", strerror(errno));
  close(fd);
}

/* Runs the plugin in the Bun executable: argv (argv[0] says which plugin) and environ as we got them. */
static void __attribute__((noreturn)) standalone(const char *why, const char *text) {
  if (g_debug) {
    char line[1024];
    int n = snprintf(line, sizeof line, "cnikit-front: running standalone: %s%s%s\n", why, text && *text ? ": " : "", text ? text : "");
    write_all(2, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
  }
  if (g_stdin_taken) hand_back_stdin();
  char exe[PATH_MAX + 8];
  if (!realpath("/proc/self/exe", exe)) cni_error(999, "cnikit front end: cannot resolve /proc/self/exe", strerror(errno));
  char *slash = strrchr(exe, '/');
  strcpy(slash ? slash + 1 : exe, "cnikit");
  signal(SIGPIPE, g_sigpipe);
  execv(exe, g_argv);
  char msg[PATH_MAX + 64];
  snprintf(msg, sizeof msg, "cnikit front end: cannot run %s", exe);
  cni_error(999, msg, strerror(errno));
}

/* Waits for fd to be ready until deadline (CLOCK_MONOTONIC ms); IO_OK, IO_TIMEOUT or IO_ERROR. */
static int wait_until(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return IO_TIMEOUT;
    struct pollfd pfd = {.fd = fd, .events = events};
    int r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
    if (r > 0) return IO_OK;
    if (r < 0 && errno != EINTR) return IO_ERROR;
  }
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    } else if (errno == EAGAIN) {
      int r = wait_until(fd, POLLOUT, deadline);
      if (r != IO_OK) return r;
    } else if (errno != EINTR) {
      return IO_ERROR;
    }
  }
  return IO_OK;
}

/* Exactly n bytes into p (or, with p NULL, to fd 2 as they come: 'e' frames). */
static int recv_all(int fd, char *p, size_t n, int64_t deadline) {
  char chunk[65536];
  while (n > 0) {
    char *into = p ? p : chunk;
    ssize_t r = recv(fd, into, (p || n < sizeof chunk) ? n : sizeof chunk, 0);
    if (r > 0) {
      if (p) p += r;
      else write_all(2, chunk, (size_t)r); /* a closed stderr must not cost the result */
      n -= (size_t)r;
    } else if (r == 0) {
      return IO_EOF;
    } else if (errno == EAGAIN) {
      int w = wait_until(fd, POLLIN, deadline);
      if (w != IO_OK) return w;
    } else if (errno != EINTR) {
      return IO_ERROR;
    }
  }
  return IO_OK;
}

static uint32_t get_u32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static void put_u32(char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (char)(v >> (8 * i));
}

/*
 * A 1 s bound on connect. A unix stream connect never reports EINPROGRESS: it either
 * completes at once or, when the listen backlog is full, fails at once (non-blocking)
 * or sleeps until there is room, for at most SO_SNDTIMEO. So: a blocking connect with
 * a 1 s send timeout, then non-blocking from there on, every wait a bounded poll.
 */
static int connect_daemon(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && fd <= 2) {
    /* A caller left stdin, stdout or stderr closed: the socket must not pose as one. */
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    fd = high;
  }
  if (fd < 0) return -1;
  struct timeval tv = {.tv_sec = CONNECT_MS / 1000, .tv_usec = (CONNECT_MS % 1000) * 1000};
  struct sockaddr_un addr = {.sun_family = AF_UNIX}; /* sun_path[0] stays 0: abstract */
  memcpy(addr.sun_path + 1, SOCKET_NAME, strlen(SOCKET_NAME));
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(SOCKET_NAME));
  int r = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (r == 0) {
    do r = connect(fd, (struct sockaddr *)&addr, len);
    while (r < 0 && errno == EINTR);
  }
  if (r == 0) r = fcntl(fd, F_SETFL, O_NONBLOCK);
  if (r < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

/* All of stdin, up to MAX_STDIN (0 when there is more), within STDIN_MS (else the plugin's error). */
static int read_stdin(void) {
  g_stdin_taken = 1;
  int64_t deadline = now_ms() + STDIN_MS;
  for (;;) {
    if (g_stdin.len > MAX_STDIN) return 0;
    if (!reserve(&g_stdin, g_stdin.len + 65536)) cni_error(999, "cnikit front end: out of memory reading stdin", NULL);
    /* A pipe whose writer never closes must not hold us: every wait is bounded. */
    int ready = wait_until(0, POLLIN, deadline);
    if (ready == IO_TIMEOUT) {
      g_stdin.len = 0; /* the plugin, which read no config, answers in its own version: so do we */
      cni_error(5, STDIN_TOO_SLOW, NULL);
    }
    ssize_t n = ready == IO_OK ? read(0, g_stdin.data + g_stdin.len, g_stdin.cap - g_stdin.len) : -1;
    if (n > 0) {
      g_stdin.len += (size_t)n;
    } else if (n == 0) {
      return 1;
    } else if (errno == EAGAIN) { /* a non-blocking pipe inherited from the caller: poll again */
    } else if (errno != EINTR) {
      /* Nothing consumed yet: the plugin itself can meet (and report) the same error. */
      if (g_stdin.len == 0) {
        g_stdin_taken = 0;
        standalone("stdin is not readable", strerror(errno));
      }
      cni_error(5, "error reading from stdin", strerror(errno));
    }
  }
}

enum phase { VERDICT, SENDING, ANSWER };

/* The connection failed us after the hello: say what happened, as a code 11. */
static void __attribute__((noreturn)) io_failure(int r, enum phase phase, uint32_t limit_ms) {
  static const char *const doing[] = {"waiting for its verdict", "sending the request", "waiting for the answer"};
  char what[256], extra[160];
  /* Until the body is sent the daemon has run nothing for us (a stopping daemon closes
   * its socket with callers still queued): running standalone is safe and expected. */
  if (phase == VERDICT && r == IO_EOF) standalone("the daemon closed the connection before its verdict (it died or is stopping)", NULL);
  if (phase == VERDICT && r != IO_TIMEOUT) standalone("the connection broke before the daemon's verdict", strerror(errno));
  if (r == IO_EOF) daemon_error("the daemon closed the connection before answering (it died or its worker was killed)", NULL);
  if (r == IO_TIMEOUT && phase == VERDICT) {
    snprintf(what, sizeof what, "no verdict within %d ms (all its workers stayed busy)", VERDICT_MS);
    daemon_error(what, NULL);
  }
  if (r == IO_TIMEOUT) {
    snprintf(what, sizeof what, "no answer within %llu ms", (unsigned long long)limit_ms + GRACE_MS);
    snprintf(extra, sizeof extra, "its limit is %u ms and we waited %d ms more; the call may still be running", limit_ms, GRACE_MS);
    daemon_error(what, extra);
  }
  snprintf(what, sizeof what, "the connection broke while %s", doing[phase]);
  daemon_error(what, strerror(errno));
}

/* The body after the hello: the plugin name, every environment variable with its NUL, stdin. */
static void append_body(struct buf *b, size_t name_len) {
  append(b, g_plugin, name_len);
  for (char **e = environ; *e; e++) append(b, *e, strlen(*e) + 1);
  append(b, g_stdin.data, g_stdin.len);
}

int main(int argc, char **argv) {
  g_argv = argv;
  g_debug = getenv("CNIKIT_FRONT_DEBUG") != NULL;
  g_sigpipe = signal(SIGPIPE, SIG_IGN); /* a dead peer or reader is an error to report, not a kill */
  if (argc < 1 || !argv[0]) standalone("no argv[0]", NULL);
  const char *slash = strrchr(argv[0], '/');
  g_plugin = slash ? slash + 1 : argv[0];
  size_t name_len = strlen(g_plugin);
  if (name_len == 0 || name_len > MAX_NAME) standalone("the plugin name is empty or too long", NULL);
  /* The protocol carries argv[0]'s name only; the standalone CLI is what takes arguments. */
  if (argc > 1) standalone("arguments were given", NULL);

  size_t env_len = 0;
  for (char **e = environ; *e; e++) env_len += strlen(*e) + 1;
  if (env_len > MAX_ENV) standalone("the environment is over 1 MiB", NULL);

  int fd = connect_daemon();
  if (fd < 0) standalone("cannot connect to @" SOCKET_NAME, strerror(errno));

  /* Without CNI_COMMAND a plugin only prints what it is and never reads stdin (a
   * terminal, when run by hand): neither do we. */
  const char *command = getenv("CNI_COMMAND");
  if (command && *command && !read_stdin()) standalone("stdin is over 64 MiB", NULL);

  size_t body_len = name_len + env_len + g_stdin.len;
  int eager = body_len <= EAGER_MAX;
  size_t hello_len = 20 + sizeof CNIKIT_BUILD_ID - 1;
  struct buf request = {0};
  if (!reserve(&request, hello_len + (eager ? body_len : 0))) cni_error(999, "cnikit front end: out of memory", NULL);
  memcpy(request.data, eager ? "CNK2" : "CNK1", 4);
  put_u32(request.data + 4, (uint32_t)(sizeof CNIKIT_BUILD_ID - 1));
  put_u32(request.data + 8, (uint32_t)name_len);
  put_u32(request.data + 12, (uint32_t)env_len);
  put_u32(request.data + 16, (uint32_t)g_stdin.len);
  memcpy(request.data + 20, CNIKIT_BUILD_ID, sizeof CNIKIT_BUILD_ID - 1);
  request.len = hello_len;
  if (eager) append_body(&request, name_len);
  int64_t deadline = now_ms() + VERDICT_MS;
  int r = send_all(fd, request.data, request.len, deadline);
  if (r != IO_OK) io_failure(r, VERDICT, 0);
  free(request.data);

  char verdict[6] = {0, '?'}; /* [1]: the refusal reason, when we read it */
  r = recv_all(fd, verdict, 1, deadline);
  if (r == IO_OK && verdict[0] == 'N') {
    /* Refused before the body: the daemon has run nothing, so standalone is safe. */
    char text[512] = "";
    if (g_debug && recv_all(fd, verdict + 1, 5, deadline) == IO_OK) {
      uint32_t n = get_u32(verdict + 2);
      if (n > sizeof text - 1) n = sizeof text - 1;
      if (recv_all(fd, text, n, deadline) != IO_OK) n = 0;
      text[n] = '\0';
    }
    char why[64];
    snprintf(why, sizeof why, "the daemon refused (%c)", g_debug ? verdict[1] : '?');
    close(fd);
    standalone(why, text);
  }
  if (r == IO_OK && verdict[0] != 'Y') {
    char what[64];
    snprintf(what, sizeof what, "unknown verdict byte 0x%02x", (unsigned char)verdict[0]);
    daemon_error(what, NULL);
  }
  if (r == IO_OK) r = recv_all(fd, verdict + 1, 4, deadline);
  if (r != IO_OK) io_failure(r, VERDICT, 0);

  uint32_t limit_ms = get_u32(verdict + 1);
  deadline = now_ms() + (int64_t)limit_ms + GRACE_MS;
  if (!eager) {
    struct buf body = {0};
    if (!reserve(&body, body_len)) cni_error(999, "cnikit front end: out of memory", NULL);
    append_body(&body, name_len);
    if ((r = send_all(fd, body.data, body.len, deadline)) != IO_OK) io_failure(r, SENDING, limit_ms);
    free(body.data);
  }

  struct buf out = {0};
  for (;;) {
    char head[5];
    if ((r = recv_all(fd, head, 5, deadline)) != IO_OK) io_failure(r, ANSWER, limit_ms);
    uint32_t len = get_u32(head + 1);
    if (head[0] == 'e') {
      r = recv_all(fd, NULL, len, deadline);
    } else if (head[0] == 'o') {
      if (len > MAX_OUT - out.len || !reserve(&out, out.len + len)) daemon_error("an 'o' frame over 64 MiB", NULL);
      if ((r = recv_all(fd, out.data + out.len, len, deadline)) == IO_OK) out.len += len;
    } else if (head[0] == 'x' && len == 4) {
      char status[4];
      if ((r = recv_all(fd, status, 4, deadline)) != IO_OK) io_failure(r, ANSWER, limit_ms);
      if (write_all(1, out.data, out.len) < 0) {
        static const char msg[] = "cnikit-front: cannot write the result to stdout\n";
        write_all(2, msg, sizeof msg - 1);
        return 1;
      }
      uint32_t code = get_u32(status);
      return code <= 255 ? (int)code : 1;
    } else {
      char what[64];
      snprintf(what, sizeof what, "a malformed frame (type 0x%02x, length %u)", (unsigned char)head[0], len);
      daemon_error(what, NULL);
    }
    if (r != IO_OK) io_failure(r, ANSWER, limit_ms);
  }
}
