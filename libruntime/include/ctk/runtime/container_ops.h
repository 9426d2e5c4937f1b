// What the lifecycle commands read from a ctk container's on-disk record
// (container.h): the docker-shaped inspect document, the json-file log, the
// changes of its upper directory, and `commit` of that directory into a new
// image.
//
//   using namespace ctk::rt::container;
//   Paths p{.root = "/var/lib/ctk", .run_root = "/run/ctk"};
//   auto id = find_container(p, "web");                 // name, ID or ID prefix
//   auto rec = load_record(p, *id);                     // config.json + state.json
//   auto doc = inspect_document(*rec, p, {});           // .State.Pid, .Config, ...
//   auto changes = upper_changes(p.dir(*id) + "/upper", lower_dirs); // docker diff
//   auto img = commit(store, *rec, p, {.changes = {"CMD [\"sh\"]"}, .name = "app:v2"});
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/container.h"
#include "ctk/runtime/core.h"
#include "ctk/runtime/image_store.h"

namespace ctk::rt::container {

// ---- the record on disk -------------------------------------------------------

// state.json as State. Keys (snake_case of State's members, plus those
// discovery reads): status, pid, pid_start, monitor_pid, exit_code,
// oom_killed, started_at, finished_at, cgroup, endpoint {ip, gateway, mac,
// host_veth, prefix, ports [{host_ip, host_port, container_port, proto}]}.
// Missing keys keep State's defaults.
Result<State> state_from_json(const nlohmann::json &j);

struct Record {
  ContainerConfig config;
  State state;
};
// Reads config.json and state.json (a missing state.json is a "created"
// container). A "running" state whose PID is gone (or reused: pid_start)
// reads as "exited": its monitor died before recording the exit.
Result<Record> load_record(const Paths &paths, const std::string &id);
// The ID of the ctk container named by `ref`: a name ("/web" too), a full
// ID, a unique ID prefix, "ctk://NAME" or "pid://N". A thin wrapper over
// discovery::resolve_ctk, so every command resolves targets one way; another
// runtime's scheme is invalid_argument.
Result<std::string> find_container(const Paths &paths, std::string_view ref);
// Every container ID under <root>/containers.
std::vector<std::string> list_container_ids(const Paths &paths);
// True when `pid` is alive (not a zombie) and, if start != 0, started at
// `start` (clock ticks).
bool process_alive(pid_t pid, uint64_t start);

// ---- inspect -------------------------------------------------------------------

struct InspectExtra {
  std::string lowerdir; // overlay lowerdir ("top:...:base") when known
};
// The document `docker inspect` prints for a container, with the same key
// names, so users' --format strings ({{.State.Pid}}, {{.NetworkSettings.IPAddress}},
// {{json .Config}}, {{range .Mounts}}) work on it.
nlohmann::ordered_json inspect_document(const Record &rec, const Paths &paths,
                                        const InspectExtra &extra);

// ---- logs ----------------------------------------------------------------------

struct LogLine {
  std::string stream; // "stdout" | "stderr"
  std::string text;   // with its newline, as written
  std::string time;   // RFC 3339 with nanoseconds
};
// One line of docker's json-file log: {"log":"...","stream":"stdout","time":"..."}.
Result<LogLine> parse_log_line(std::string_view line);

struct LogFilter {
  std::optional<size_t> tail;   // only the last N lines
  std::optional<int64_t> since; // unix nanoseconds; older lines are skipped
};
// Parses the whole log text and applies the filter. A malformed line is an
// error naming its number (the log is ctk's own, written by the monitor),
// except a truncated last line, which a writer may still be finishing.
Result<std::vector<LogLine>> read_log(std::string_view text, const LogFilter &f);
// RFC 3339 (with optional fraction and offset) to unix nanoseconds.
std::optional<int64_t> parse_time_ns(std::string_view rfc3339);
// docker's --since: RFC 3339, a unix timestamp ("1700000000[.5]") or a
// duration before `now_ns` ("10m", "1h30m", "45s").
Result<int64_t> parse_since(std::string_view text, int64_t now_ns);

// ---- diff ----------------------------------------------------------------------

struct UpperChange {
  char kind = 'A';  // 'A' added, 'C' changed, 'D' deleted (as docker diff)
  std::string path; // absolute in the container: "/etc/passwd"
};
// What a container changed: every entry of its overlay upper dir, against
// the lower dirs (top first). A 0/0 character device is a deletion; a
// directory that exists below is changed ('C'), as are files replacing a
// lower one; an opaque directory (trusted.overlay.opaque=y) is 'C' when it
// existed below (its lower contents are gone: each listed 'D'), else 'A'.
// Sorted by path, as docker prints it.
Result<std::vector<UpperChange>> upper_changes(const std::string &upper,
                                               const std::vector<std::string> &lowers_top_first);

// The overlay lower dirs of the container's image, TOP FIRST (as overlayfs'
// lowerdir lists them), computed from the image config's diff IDs: the
// directories exist once the image was unpacked (Store::unpack).
Result<std::vector<std::string>> image_lower_dirs(const image::Store &store,
                                                  const ContainerConfig &c);

// ---- commit --------------------------------------------------------------------

// Applies one docker --change instruction (CMD, ENTRYPOINT, ENV, EXPOSE,
// LABEL, USER, VOLUME, WORKDIR) to the "config" object of an image config.
// CMD/ENTRYPOINT take a JSON array or a shell form ("sh -c"); ENV and LABEL
// take "K=V ..." (quotes allowed) or the legacy "K V".
Result<void> apply_change(nlohmann::json &config, std::string_view instruction);

struct CommitOptions {
  std::string author;               // -a
  std::string message;              // -m
  std::vector<std::string> changes; // -c, in order
  std::string name;                 // NAME[:TAG], "" for an untagged image
  bool pause = true;                // -p: freeze a running container meanwhile (docker's default)
};
struct Committed {
  image::Image image;
  image::Digest layer_digest, diff_id;
  uint64_t layer_size = 0;
  // A running container asked to pause could not be (no cgroup v2 freezer):
  // committed running, as with docker commit --pause=false.
  bool not_paused = false;
};
// Writes the container's upper dir as a gzip layer with OCI whiteouts
// (a 0/0 char device -> .wh.NAME, an opaque dir -> DIR/.wh..wh..opq), on top
// of its image's layers, with a new config (the image's, the changes, a
// history entry) and manifest, and commits it to `store`. The container
// may be stopped or running; a running one is frozen (cgroup.freeze) while
// its upper directory is read and thawed after, whatever happens, unless
// !pause: then files being written may be caught half-way.
Result<Committed> commit(image::Store &store, const Record &rec, const Paths &paths,
                         const CommitOptions &opt);

} // namespace ctk::rt::container
