// Driver of tests/bench/net_trace_bench.sh (not a test itself):
//
//   ctk_net_trace_bench ready N A B           start/stop SkbTracer N times; ms per start
//   ctk_net_trace_bench trace A B PORT [MAX]  trace udp A<->B:PORT until stdin closes,
//                                             following at most MAX packets (0: all,
//                                             "floor": the programs attached, returning
//                                             at once); prints "ready", then events and lost
//   ctk_net_trace_bench send IP PORT COUNT    COUNT UDP datagrams of 64 bytes; prints
//                                             the sender's CPU ns per packet
//   ctk_net_trace_bench recv PORT COUNT       receives until COUNT or 1 s of silence;
//                                             prints "received pps"
//
// send and recv run in the namespace they were started in (ip netns exec).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "ctk/runtime/net_trace_bpf.h"

using namespace ctk::rt::nettrace;
using Clock = std::chrono::steady_clock;

namespace {

FlowFilter udp_flow(const char *a, const char *b, uint16_t port) {
  FlowFilter f;
  f.proto = IPPROTO_UDP;
  f.side_a = {a};
  f.side_b = {b};
  f.dport = port;
  f.arp_addresses = {a, b};
  return f;
}

double cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Wall and CPU (user + kernel: the verifier runs in our syscalls) time of
// each start; prints "wall_min wall_median wall_max cpu_median".
int ready(int n, const char *a, const char *b) {
  std::vector<double> ms, cpu;
  for (int i = 0; i < n; i++) {
    double c0 = cpu_ms();
    auto t0 = Clock::now();
    auto t = SkbTracer::start(udp_flow(a, b, 9000));
    double wall = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!t) {
      std::fprintf(stderr, "%s\n", t.error().message().c_str());
      return 1;
    }
    cpu.push_back(cpu_ms() - c0);
    ms.push_back(wall);
  }
  std::sort(ms.begin(), ms.end());
  std::sort(cpu.begin(), cpu.end());
  std::printf("%.1f %.1f %.1f %.1f\n", ms.front(), ms[ms.size() / 2], ms.back(),
              cpu[cpu.size() / 2]);
  return 0;
}

int trace(const char *a, const char *b, uint16_t port, uint32_t max_packets, bool floor) {
  auto f = udp_flow(a, b, port);
  f.max_packets = max_packets;
  f.attach_only = floor;
  auto t = SkbTracer::start(f);
  if (!t) {
    std::fprintf(stderr, "%s\n", t.error().message().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  uint64_t events = 0;
  for (;;) {
    pollfd pf[2] = {{0, POLLIN, 0}, {t->fd(), POLLIN, 0}};
    if (::poll(pf, 2, -1) < 0)
      continue;
    // Decoded as `ctk net trace` would, strings and all.
    auto r = t->poll([&](const SkbEvent &) { events++; }, 0);
    if (!r)
      return 1;
    if (pf[0].revents) {
      char c;
      if (::read(0, &c, 1) <= 0)
        break;
    }
  }
  std::printf("%llu %llu\n", static_cast<unsigned long long>(events),
              static_cast<unsigned long long>(t->lost()));
  return 0;
}

int send(const char *ip, uint16_t port, long count) {
  int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &sa.sin_addr);
  if (s < 0 || ::connect(s, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
    std::perror("send: socket/connect");
    return 1;
  }
  char buf[64] = {};
  // The thread's CPU time (the scheduler's, not ticks) includes the softirq
  // that carries each packet through both veths and the bridge to b's
  // socket, which runs in this thread's context: the whole path's cost,
  // whatever else the machine runs (as long as it is not preempted for
  // ksoftirqd).
  timespec c0{}, c1{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  for (long i = 0; i < count; i++)
    if (::send(s, buf, sizeof buf, 0) < 0 && errno != ENOBUFS && errno != ECONNREFUSED &&
        errno != EAGAIN) {
      std::perror("send");
      return 1;
    }
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  double ns = (c1.tv_sec - c0.tv_sec) * 1e9 + (c1.tv_nsec - c0.tv_nsec);
  std::printf("%.0f\n", count > 0 ? ns / count : 0.0);
  return 0;
}

int recv(uint16_t port, long count) {
  int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  int big = 32 << 20;
  ::setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::bind(s, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0)
    return 1;
  std::printf("listening\n");
  std::fflush(stdout);
  char buf[2048];
  long got = 0;
  Clock::time_point first, last;
  while (got < count) {
    pollfd pf{s, POLLIN, 0};
    if (::poll(&pf, 1, got ? 1000 : 30000) <= 0)
      break;
    if (::recv(s, buf, sizeof buf, 0) < 0)
      continue;
    last = Clock::now();
    if (got++ == 0)
      first = last;
  }
  double sec = std::chrono::duration<double>(last - first).count();
  std::printf("%ld %.0f\n", got, got > 1 && sec > 0 ? (got - 1) / sec : 0.0);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "ready" && argc == 5)
    return ready(std::atoi(argv[2]), argv[3], argv[4]);
  if (mode == "trace" && (argc == 5 || argc == 6))
    return trace(argv[2], argv[3], static_cast<uint16_t>(std::atoi(argv[4])),
                 argc == 6 ? static_cast<uint32_t>(std::atol(argv[5])) : 0,
                 argc == 6 && std::string(argv[5]) == "floor");
  if (mode == "send" && argc == 5)
    return send(argv[2], static_cast<uint16_t>(std::atoi(argv[3])), std::atol(argv[4]));
  if (mode == "recv" && argc == 4)
    return recv(static_cast<uint16_t>(std::atoi(argv[2])), std::atol(argv[3]));
  std::fprintf(stderr, "usage: see tests/bench/net_trace_bench.cc\n");
  return 2;
}
