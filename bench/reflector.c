/* reflector: the ceiling of a UDP DNS benchmark on this machine, for bench/compare.sh.
 *
 *   reflector ADDRESS PORT THREADS
 *
 * PORT 0 takes one from the kernel; the port in use is printed on stderr ("reflector:
 * ADDRESS:PORT, N thread(s)") once every socket is open.
 * Each thread owns one SO_REUSEPORT socket on ADDRESS:PORT, takes datagrams in batches of 64 with
 * recvmmsg and sends each one back to its sender with sendmmsg, with the QR bit set: no parsing,
 * no lookup, no DNS logic. What dnsperf measures against it is the kernel's and the load
 * generator's cost, which a real server can only add to. Runs until SIGTERM or SIGINT.
 *
 * Plain C (no project code): it measures the machine, not globaldns.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BATCH = 64, MAX_DATAGRAM = 4096, MAX_THREADS = 64 };
/* A larger receive buffer than the default 208 KiB, so bursts from dnsperf are not dropped by
 * the reflector before the servers it stands for would drop them (they ask for large ones). */
static const int RECEIVE_BUFFER = 4 << 20;

struct worker {
  int fd;
  pthread_t thread;
};

static void* reflect(void* arg) {
  const int fd = ((struct worker*)arg)->fd;
  unsigned char(*buffers)[MAX_DATAGRAM] = malloc(BATCH * MAX_DATAGRAM);
  if (buffers == NULL) {
    perror("reflector: malloc");
    exit(1);
  }
  struct mmsghdr messages[BATCH];
  struct iovec iovecs[BATCH];
  struct sockaddr_storage peers[BATCH];
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iovecs[i] = (struct iovec){.iov_base = buffers[i], .iov_len = MAX_DATAGRAM};
      messages[i].msg_hdr = (struct msghdr){.msg_name = &peers[i],
                                            .msg_namelen = sizeof peers[i],
                                            .msg_iov = &iovecs[i],
                                            .msg_iovlen = 1};
      messages[i].msg_len = 0;
    }
    /* Block for the first datagram, then take whatever else is already queued. */
    const int got = recvmmsg(fd, messages, BATCH, MSG_WAITFORONE, NULL);
    if (got < 0) {
      if (errno == EINTR) continue;
      perror("reflector: recvmmsg");
      exit(1);
    }
    int out = 0;
    for (int i = 0; i < got; i++) {
      const unsigned len = messages[i].msg_len;
      if (len < 12 || (buffers[i][2] & 0x80)) /* not a DNS header, or already a response */
        continue;
      buffers[i][2] |= 0x80; /* QR */
      iovecs[i].iov_len = len;
      if (out != i) {
        messages[out].msg_hdr = messages[i].msg_hdr;
      }
      out++;
    }
    for (int sent = 0; sent < out;) {
      const int n = sendmmsg(fd, messages + sent, (unsigned)(out - sent), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        break; /* e.g. the sender went away: drop the rest of the batch, as a server would */
      }
      sent += n;
    }
  }
  return NULL;
}

static int open_socket(const struct sockaddr_in* address) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(fd, (const struct sockaddr*)address, sizeof *address) != 0) {
    perror("reflector: socket");
    exit(1);
  }
  /* Best effort: the kernel caps it at net.core.rmem_max. */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &RECEIVE_BUFFER, sizeof RECEIVE_BUFFER);
  return fd;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s ADDRESS PORT THREADS\n", argv[0]);
    return 2;
  }
  struct sockaddr_in address = {.sin_family = AF_INET};
  char* end = NULL;
  const long port = strtol(argv[2], &end, 10);
  if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1 || *end != '\0' || port < 0 ||
      port > 65535) {
    fprintf(stderr, "reflector: bad address or port '%s' '%s'\n", argv[1], argv[2]);
    return 2;
  }
  address.sin_port = htons((unsigned short)port);
  const long threads = strtol(argv[3], &end, 10);
  if (*end != '\0' || threads < 1 || threads > MAX_THREADS) {
    fprintf(stderr, "reflector: THREADS must be 1..%d, got '%s'\n", MAX_THREADS, argv[3]);
    return 2;
  }

  /* Workers run with SIGTERM and SIGINT blocked; the main thread waits for them and exits. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  static struct worker workers[MAX_THREADS];
  /* Open every socket before the first thread runs, so a bind error leaves nothing behind. The
   * first one fixes the port (the kernel's choice for PORT 0) that the others share. */
  for (long i = 0; i < threads; i++) {
    workers[i].fd = open_socket(&address);
    socklen_t length = sizeof address;
    if (i == 0 && getsockname(workers[0].fd, (struct sockaddr*)&address, &length) != 0) {
      perror("reflector: getsockname");
      return 1;
    }
  }
  for (long i = 0; i < threads; i++) {
    const int err = pthread_create(&workers[i].thread, NULL, reflect, &workers[i]);
    if (err != 0) {
      fprintf(stderr, "reflector: pthread_create: %s\n", strerror(err));
      return 1;
    }
  }
  fprintf(stderr, "reflector: %s:%u, %ld thread(s)\n", argv[1], ntohs(address.sin_port), threads);
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  return 0;
}
