/*
 * A netlink request whose syscall outlives the caller's interest in it.
 *
 * Deleting a veth is one sendmsg() in which the kernel unlists both ends, tells the
 * namespaces (RTM_DELLINK), then waits for RCU (synchronize_net, and rcu_barrier in
 * netdev_run_todo) before it frees the devices and acks: measured here, the unlisting
 * and notifications are done about 4 ms into a 15-18 ms call. The caller (src/netlink/
 * links.ts deleteLinkDetached) watches for the notification on a subscribed socket and
 * goes on; the rest of the syscall runs on a thread of its own, which then reports the
 * ack's errno through a socket pair (send with MSG_NOSIGNAL: the reader may have closed
 * its end by then) and closes the netlink socket it was given.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cnikit_native.h"

/* The ack wait of the thread: the same bound as the JS side's netlink replies (handle.ts). */
#define DETACHED_ACK_TIMEOUT_MS 10000

struct detached_send {
  int fd;
  int report_fd;
  size_t len;
  unsigned char data[];
};

/* The errno of the first NLMSG_ERROR the kernel sends us (0 for an ack), or ETIMEDOUT. */
static int32_t await_ack(int fd) {
  unsigned char buf[65536]; /* on the thread's own stack (256 KiB) */
  for (;;) {
    if (wait_fd(fd, POLLIN, DETACHED_ACK_TIMEOUT_MS) <= 0) return ETIMEDOUT;
    struct sockaddr_nl from = {0};
    socklen_t from_len = sizeof from;
    ssize_t n;
    do n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
    while (n < 0 && errno == EINTR);
    if (n < 0) return errno;
    if (from.nl_pid != 0) continue; /* only the kernel answers us */
    int left = (int)n;
    for (struct nlmsghdr *msg = (struct nlmsghdr *)buf; NLMSG_OK(msg, left); msg = NLMSG_NEXT(msg, left)) {
      if (msg->nlmsg_type != NLMSG_ERROR || msg->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) continue;
      int error = ((struct nlmsgerr *)NLMSG_DATA(msg))->error;
      return error < 0 ? -error : error;
    }
  }
}

static void *detached_send_run(void *arg) {
  struct detached_send *job = arg;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(job->fd, job->data, job->len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (n < 0 && errno == EINTR);
  int32_t err = n < 0 ? errno : await_ack(job->fd);
  (void)!send(job->report_fd, &err, sizeof err, MSG_NOSIGNAL);
  close(job->report_fd);
  close(job->fd);
  free(job);
  return NULL;
}

/*
 * netlinkSendDetached(fd, datagram): sends on a thread of its own and returns one end of
 * a socket pair that gets the ack's errno (int32, 0 for success) once the kernel acks.
 * The socket fd now belongs to that thread, which closes it.
 */
static napi_value netlink_send_detached(napi_env env, napi_callback_info info) {
  int32_t fd;
  void *data;
  size_t len;
  if (!get_fd_and_buffer(env, info, &fd, &data, &len)) return NULL;
  int pipe_fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pipe_fds) < 0) return throw_errno(env, errno, "socketpair", NULL);
  struct detached_send *job = malloc(sizeof *job + len);
  if (!job) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return throw_errno(env, ENOMEM, "malloc", NULL);
  }
  job->fd = fd;
  job->report_fd = pipe_fds[1];
  job->len = len;
  memcpy(job->data, data, len);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t thread;
  int err = pthread_create(&thread, &attr, detached_send_run, job);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    free(job);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return throw_errno(env, err, "pthread_create", NULL);
  }
  return make_int(env, pipe_fds[0]);
}

/* pollReadable(fds, timeoutMs): the index of the first readable fd (or hung up), -1 when none became so in time. */
static napi_value poll_readable(napi_env env, napi_callback_info info) {
  napi_value argv[2], item;
  int32_t timeout_ms;
  uint32_t count;
  struct pollfd pfds[8];
  if (!get_args(env, info, 2, argv)) return NULL;
  if (napi_get_array_length(env, argv[0], &count) != napi_ok || count == 0 || count > 8 ||
      !get_int(env, argv[1], &timeout_ms))
    return throw_type(env, "pollReadable(fds, timeoutMs) takes 1 to 8 fds and a number");
  for (uint32_t i = 0; i < count; i++) {
    int32_t fd;
    napi_get_element(env, argv[0], i, &item);
    if (!get_int(env, item, &fd)) return throw_type(env, "fds must be numbers");
    pfds[i] = (struct pollfd){.fd = fd, .events = POLLIN};
  }
  int ready;
  do ready = poll(pfds, count, timeout_ms);
  while (ready < 0 && errno == EINTR);
  if (ready < 0) return throw_errno(env, errno, "poll", NULL);
  for (uint32_t i = 0; i < count; i++)
    if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) return make_int(env, i);
  return make_int(env, -1);
}

void cnikit_detached_exports(napi_env env, napi_value exports) {
  EXPORT("netlinkSendDetached", netlink_send_detached);
  EXPORT("pollReadable", poll_readable);
}
