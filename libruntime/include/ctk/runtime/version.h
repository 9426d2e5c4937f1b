// The libruntime version a plugin is built against. The host refuses a plugin
// whose version string differs from its own: libruntime types cross the
// plugin boundary only as plain C data, but record shapes and option
// semantics follow the library, so the two must come from one build.
//
//   if (std::strcmp(desc->runtime_version, CTK_RUNTIME_VERSION) != 0) refuse();
#pragma once

#define CTK_RUNTIME_VERSION "0.1.0"
