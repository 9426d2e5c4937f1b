/* The ctk plugin ABI, version 1: plain C, so that the host and a plugin share
 * nothing but these structs and function pointers.
 *
 * A plugin is a shared object that exports one symbol:
 *
 *   CTK_PLUGIN_EXPORT const struct ctk_plugin_v1 *ctk_plugin_descriptor_v1(void);
 *
 * The descriptor and everything it points to are static and live as long as
 * the plugin is loaded. The host checks abi_major == CTK_PLUGIN_ABI_MAJOR and
 * runtime_version == CTK_RUNTIME_VERSION and refuses the plugin otherwise.
 *
 * The host parses the command line from the declared options and positionals,
 * then calls `run` with a ctk_call_v1. A command never prints records: it hands
 * them to the host through the SAX-like record calls of ctk_host_v1, and the
 * host renders them (table, JSON, JSON lines, Go template) from the declared
 * columns. Nothing may throw across this boundary.
 *
 * C++ plugins use ctk/runtime/plugin.h, which wraps all of this.
 */
#ifndef CTK_RUNTIME_PLUGIN_ABI_H
#define CTK_RUNTIME_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CTK_PLUGIN_ABI_MAJOR 1
#define CTK_PLUGIN_ABI_MINOR 2 /* 1: CTK_OPT_VIEW, CTK_COL_QUIET, CTK_CMD_LIVE, CTK_OPT_NO_LIVE,
                                  host->interval, host->wake_fd
                                  2: host->write_raw_stderr, CTK_COL_EXTRA,
                                     CTK_OPT_SHOWS_EXTRA */
#define CTK_PLUGIN_ENTRY_SYMBOL "ctk_plugin_descriptor_v1"
#define CTK_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Column value types. Tables show human units; JSON keeps raw values. */
enum ctk_col_type_v1 {
  CTK_COL_STRING = 0,
  CTK_COL_INT = 1,       /* integer, shown as is */
  CTK_COL_BYTES = 2,     /* integer bytes: "96MiB" in tables */
  CTK_COL_DURATION = 3,  /* number of seconds (may be fractional): "3s", "2m" */
  CTK_COL_TIMESTAMP = 4, /* unix seconds, or RFC 3339 string: "3s ago" */
  CTK_COL_ID = 5,        /* hex ID (optionally "sha256:"): 12 chars unless --no-trunc */
  CTK_COL_LIST = 6,      /* array: elements joined with "," */
  CTK_COL_OBJECT = 7,    /* nested object: compact JSON in tables */
  CTK_COL_BOOL = 8,
  CTK_COL_PERCENT = 9,   /* number where 12.5 means 12.5%: "12.50%" */
};

/* Column flags. */
#define CTK_COL_HIDDEN 0x1u /* not shown in the default table; JSON/template only */
#define CTK_COL_WIDE 0x2u   /* never truncated (commands, paths) */
/* The column `-q/--quiet` prints: the host adds -q to a command with such a
 * column and prints that value of every record, one per line, no header
 * (docker's `images -q`, `ps -q`). At most one per command. (ABI 1.1) */
#define CTK_COL_QUIET 0x4u
/* Hidden like CTK_COL_HIDDEN unless an option flagged CTK_OPT_SHOWS_EXTRA is
 * given (`ps --runtime all` adds RUNTIME and PID). (ABI 1.2) */
#define CTK_COL_EXTRA 0x8u

struct ctk_column_v1 {
  const char *key;    /* JSON key and template field; dots reach into objects: "State.Pid" */
  const char *header; /* table header: "CONTAINER ID" */
  uint32_t type;      /* enum ctk_col_type_v1 */
  uint32_t flags;
  const char *help;
};

/* What an option value or positional names; drives completion. */
enum ctk_arg_kind_v1 {
  CTK_ARG_STRING = 0,
  CTK_ARG_INT = 1,
  CTK_ARG_CONTAINER = 2,
  CTK_ARG_IMAGE = 3,
  CTK_ARG_PID = 4,
  CTK_ARG_PATH = 5,
  CTK_ARG_TARGET = 6, /* container or pid, through the resolver */
  CTK_ARG_COMMAND = 7, /* the rest of the line is a command to run */
};

/* Option flags. */
#define CTK_OPT_FLAG 0x1u           /* takes no value */
#define CTK_OPT_MULTI 0x2u          /* may repeat: every value is passed, in order */
#define CTK_OPT_OPTIONAL_VALUE 0x4u /* "-n" or "-n=FILE"/"--net=FILE" (nsenter) */
/* A flag that selects another view of the command: "ctk layers --tree IMG"
 * runs the command "layers tree" with the rest of the line, so each view
 * keeps its own options and columns. The command "<this command> <long_name>"
 * must exist in the same plugin. Takes no value. (ABI 1.1) */
#define CTK_OPT_VIEW 0x8u
/* Given, this option turns a CTK_CMD_LIVE command's live view off: plain
 * samples instead ("--no-stream", "--iterations N"). An option counts as
 * given when present with a value other than its declared default. (ABI 1.1) */
#define CTK_OPT_NO_LIVE 0x10u
/* Given (as for CTK_OPT_NO_LIVE: a value other than its default), this option
 * shows the command's CTK_COL_EXTRA columns in the default table. (ABI 1.2) */
#define CTK_OPT_SHOWS_EXTRA 0x20u

struct ctk_option_v1 {
  const char *long_name; /* "all"; required */
  char short_name;       /* 'a', or 0 */
  uint32_t flags;
  uint32_t kind;           /* enum ctk_arg_kind_v1 of the value */
  const char *value_name;  /* "N", "FILE"; NULL for flags */
  const char *default_value; /* NULL for none */
  const char *help;
};

/* Positional flags. */
#define CTK_POS_OPTIONAL 0x1u
#define CTK_POS_VARIADIC 0x2u /* takes all remaining arguments; must be last */

struct ctk_positional_v1 {
  const char *name; /* "TARGET" */
  uint32_t kind;    /* enum ctk_arg_kind_v1 */
  uint32_t flags;
  const char *help;
};

/* Command flags. */
#define CTK_CMD_STOP_AT_POSITIONAL 0x1u /* options end at the first positional (run, exec) */
#define CTK_CMD_STREAM 0x2u             /* emits samples over time: JSON lines, flush per sample */
#define CTK_CMD_INTERACTIVE 0x4u        /* owns the terminal; no renderer, no --format */
#define CTK_CMD_NO_OUTPUT 0x8u          /* prints nothing but errors; no --format */
/* With CTK_CMD_STREAM: when stdin and stdout are terminals, no --format or
 * -q is given and no CTK_OPT_NO_LIVE option is, the host shows the samples
 * in a full-screen live view (sort, filter, a detail pane of every column,
 * interval keys) instead of printing them. The command runs as before (the
 * live view draws from another thread: run() must not rely on being the
 * process's only thread while it runs); it should sleep between samples
 * for host->interval() and wake on host->wake_fd() (plugin.h:
 * Call::wait_interval), and stop when interrupted, which is also how the
 * user's "q" reaches it. (ABI 1.1) */
#define CTK_CMD_LIVE 0x10u

struct ctk_call_v1;

struct ctk_command_v1 {
  const char *name;    /* "pidmap", or "group sub" for groups: "net trace" */
  const char *summary; /* one line */
  const char *usage;   /* "[OPTIONS] [TARGET]"; may be NULL */
  const char *description; /* longer help text; may be NULL */
  const struct ctk_option_v1 *options;
  size_t n_options;
  const struct ctk_positional_v1 *positionals;
  size_t n_positionals;
  const struct ctk_column_v1 *columns;
  size_t n_columns;
  uint32_t flags;
  /* Returns the process exit status. Errors are reported through
   * host->error() before returning non-zero. */
  int (*run)(const struct ctk_call_v1 *call);
};

struct ctk_plugin_v1 {
  uint32_t abi_major; /* CTK_PLUGIN_ABI_MAJOR */
  uint32_t abi_minor; /* CTK_PLUGIN_ABI_MINOR */
  const char *runtime_version; /* CTK_RUNTIME_VERSION */
  const char *name;
  const char *summary;
  const struct ctk_command_v1 *commands;
  size_t n_commands;
};

/* Log levels for host->log. */
enum ctk_log_level_v1 { CTK_LOG_ERROR = 0, CTK_LOG_WARN = 1, CTK_LOG_INFO = 2, CTK_LOG_DEBUG = 3 };

/* Services the host offers a running command. `ctx` is ctk_call_v1.host_ctx. */
struct ctk_host_v1 {
  uint32_t size; /* sizeof(struct ctk_host_v1) of the host; grows at the end only */

  /* One record: begin_record, then key/value pairs (values may be nested
   * objects and arrays), then end_record. Keys and strings are UTF-8 with an
   * explicit length. */
  void (*begin_record)(void *ctx);
  void (*end_record)(void *ctx);
  void (*key)(void *ctx, const char *k, size_t n);
  void (*value_string)(void *ctx, const char *s, size_t n);
  void (*value_int)(void *ctx, int64_t v);
  void (*value_uint)(void *ctx, uint64_t v);
  void (*value_double)(void *ctx, double v);
  void (*value_bool)(void *ctx, int v);
  void (*value_null)(void *ctx);
  void (*begin_object)(void *ctx);
  void (*end_object)(void *ctx);
  void (*begin_array)(void *ctx);
  void (*end_array)(void *ctx);
  /* End of one sample of a streaming command: the renderer prints it now. */
  void (*flush)(void *ctx);

  /* Progress of long work; total 0 when unknown. A bar on a terminal,
   * nothing on a pipe. done == total ends the bar. */
  void (*progress)(void *ctx, const char *label, uint64_t done, uint64_t total);
  /* A one-line error for the user ("ctk: <msg>" on stderr). */
  void (*error)(void *ctx, const char *msg);
  /* A one-line warning; the command goes on. */
  void (*warn)(void *ctx, const char *msg);
  void (*log)(void *ctx, int level, const char *msg);
  /* Non-zero once SIGINT or SIGTERM arrived: clean up and return. */
  int (*interrupted)(void *ctx);
  /* An fd that becomes readable when interrupted, for poll loops. */
  int (*interrupt_fd)(void *ctx);
  /* Raw bytes to stdout, for commands whose output is not records (logs,
   * save -o -, completion scripts). */
  void (*write_raw)(void *ctx, const char *data, size_t n);

  /* (ABI 1.1; present when size reaches them.) The interval in seconds a
   * streaming command sleeps between samples: the one the user asked for in
   * the live view ("+"/"-"), else `requested` (its --interval). The first
   * call tells the live view the starting interval; call it before every
   * sleep, and again when wake_fd becomes readable. */
  double (*interval)(void *ctx, double requested);
  /* An fd that becomes readable when the interval changed, so a sleeping
   * command wakes and asks interval() again (which makes it unreadable).
   * Poll it beside interrupt_fd. -1 when nothing can change it. */
  int (*wake_fd)(void *ctx);

  /* (ABI 1.2.) Raw bytes to stderr, after what stdout holds, so the order of
   * the two streams survives on a terminal that shows both (docker logs'
   * stderr lines). */
  void (*write_raw_stderr)(void *ctx, const char *data, size_t n);
};

/* One parsed option occurrence. Flags have value "true". */
struct ctk_kv_v1 {
  const char *name; /* long name */
  const char *value;
};

struct ctk_call_v1 {
  uint32_t size; /* sizeof(struct ctk_call_v1) of the host */
  const struct ctk_host_v1 *host;
  void *host_ctx;
  const struct ctk_command_v1 *command;
  const struct ctk_kv_v1 *options; /* in command-line order, defaults included */
  size_t n_options;
  const char *const *args; /* positionals, then the trailing command line */
  size_t n_args;
  const char *root;     /* state root (--root) */
  const char *run_root; /* run root (--run-root) */
  int log_level;        /* enum ctk_log_level_v1 */
  int stdout_is_tty;
};

typedef const struct ctk_plugin_v1 *(*ctk_plugin_entry_v1)(void);

#ifdef __cplusplus
}
#endif

#endif /* CTK_RUNTIME_PLUGIN_ABI_H */
