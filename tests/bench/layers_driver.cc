// Benchmark driver for the layer audit, until `ctk layers` is wired: audits
// the layer files given on the command line (bottom first) and prints the
// metrics, or with --json every layer's file list (what `ctk layers --format
// json` will print), so the output cost is part of the measurement.
//
//   layers_driver [--json] layer0.tar.gz layer1.tar.gz ...
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <vector>

#include "ctk/runtime/image_audit.h"

using namespace ctk::rt;
using namespace ctk::rt::image;

int main(int argc, char **argv) {
  bool json = false;
  std::vector<AuditLayerInput> layers;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
      continue;
    }
    std::string path = argv[i];
    AuditLayerInput in;
    in.digest = path;
    in.open = [path] { return open_fd(path, O_RDONLY); };
    layers.push_back(std::move(in));
  }
  auto audit = audit_layers(layers);
  if (!audit) {
    std::fprintf(stderr, "layers_driver: %s\n", audit.error().message().c_str());
    return 2;
  }
  const AuditMetrics &m = audit->metrics;
  std::printf("{\"efficiency\":%.6f,\"wasted_bytes\":%llu,\"user_wasted_percent\":%.6f,"
              "\"reclaimable_bytes\":%llu,\"final_entries\":%llu,\"findings\":%zu,\"layers\":[",
              m.efficiency, static_cast<unsigned long long>(m.wasted_bytes), m.user_wasted_percent,
              static_cast<unsigned long long>(m.reclaimable_bytes),
              static_cast<unsigned long long>(m.final_entries), audit->findings.size());
  for (const LayerAudit &la : audit->layers) {
    std::printf("%s{\"index\":%zu,\"size\":%llu,\"added\":%llu,\"modified\":%llu,\"deleted\":%llu",
                la.index ? "," : "", la.index, static_cast<unsigned long long>(la.size),
                static_cast<unsigned long long>(la.added),
                static_cast<unsigned long long>(la.modified),
                static_cast<unsigned long long>(la.deleted));
    if (json) {
      std::printf(",\"files\":[");
      bool first = true;
      for (const LayerFile &f : la.files) {
        std::printf("%s{\"path\":\"/%s\",\"status\":\"%c\",\"size\":%llu,\"mode\":%o}",
                    first ? "" : ",", f.path.c_str(), status_letter(f.status),
                    static_cast<unsigned long long>(f.size), static_cast<unsigned>(f.mode));
        first = false;
      }
      std::printf("]");
    }
    std::printf("}");
  }
  std::printf("]}\n");
  return 0;
}
