# ctk_bpf_object(NAME SOURCE): compiles a libbpf CO-RE program and generates
# its skeleton header NAME.skel.h (struct NAME) with `bpftool gen skeleton`.
#
# vmlinux.h comes from CTK_VMLINUX_H when set, else it is dumped from the
# running kernel's /sys/kernel/btf/vmlinux at build time.
# Also NAME.lskel.h, the light skeleton (`gen skeleton -L`): the kernel
# applies the CO-RE relocations itself, so loading skips libbpf's parse of
# the whole vmlinux BTF in user space (tens of ms); for short-lived commands.
# Every skeleton is reachable through the ctk_bpf_skeletons interface target.

find_program(CTK_CLANG NAMES clang clang-14 REQUIRED)
find_program(CTK_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(CTK_BPF_OUT_DIR ${CMAKE_BINARY_DIR}/bpf)
set(CTK_VMLINUX_DIR ${CTK_BPF_OUT_DIR}/vmlinux)
file(MAKE_DIRECTORY ${CTK_VMLINUX_DIR})

# The rule that makes vmlinux.h. A custom command's output is only known to
# targets of the directory that defines it, so the rule is added lazily by
# the first ctk_bpf_object() of each directory, not here at include time.
function(_ctk_bpf_vmlinux_rule)
  get_directory_property(done CTK_BPF_VMLINUX_RULE)
  if(done)
    return()
  endif()
  set_directory_properties(PROPERTIES CTK_BPF_VMLINUX_RULE ON)
  if(CTK_VMLINUX_H)
    add_custom_command(OUTPUT ${CTK_VMLINUX_DIR}/vmlinux.h
      COMMAND ${CMAKE_COMMAND} -E copy ${CTK_VMLINUX_H} ${CTK_VMLINUX_DIR}/vmlinux.h
      DEPENDS ${CTK_VMLINUX_H}
      COMMENT "Using vmlinux.h from ${CTK_VMLINUX_H}")
  else()
    add_custom_command(OUTPUT ${CTK_VMLINUX_DIR}/vmlinux.h
      COMMAND sh -c "${CTK_BPFTOOL} btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h.tmp && mv vmlinux.h.tmp vmlinux.h"
      WORKING_DIRECTORY ${CTK_VMLINUX_DIR}
      COMMENT "Dumping vmlinux.h from /sys/kernel/btf/vmlinux"
      VERBATIM)
  endif()
endfunction()

function(ctk_bpf_object name source)
  _ctk_bpf_vmlinux_rule()
  get_filename_component(src ${source} ABSOLUTE)
  set(obj ${CTK_BPF_OUT_DIR}/${name}.bpf.o)
  set(skel ${CTK_BPF_OUT_DIR}/${name}.skel.h)
  add_custom_command(OUTPUT ${obj}
    COMMAND ${CTK_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Wno-unused-function
            -I${CTK_VMLINUX_DIR} -I${CMAKE_SOURCE_DIR}/bpf -c ${src} -o ${obj}
    DEPENDS ${src} ${CTK_VMLINUX_DIR}/vmlinux.h
    IMPLICIT_DEPENDS C ${src}
    COMMENT "BPF ${name}.bpf.c"
    VERBATIM)
  # `bpftool gen object` links the object, dropping the DWARF that -g adds
  # (BTF stays): the skeleton embeds the object, and a smaller one is faster
  # for libbpf to parse at every load.
  set(linked ${CTK_BPF_OUT_DIR}/${name}.linked.o)
  set(lskel ${CTK_BPF_OUT_DIR}/${name}.lskel.h)
  add_custom_command(OUTPUT ${skel}
    COMMAND ${CTK_BPFTOOL} gen object ${linked} ${obj}
    COMMAND sh -c "${CTK_BPFTOOL} gen skeleton ${linked} name ${name} > ${skel}.tmp && mv ${skel}.tmp ${skel}"
    COMMAND sh -c "${CTK_BPFTOOL} gen skeleton -L ${linked} name ${name} > ${lskel}.tmp && mv ${lskel}.tmp ${lskel}"
    BYPRODUCTS ${linked} ${lskel}
    DEPENDS ${obj}
    COMMENT "BPF skeletons ${name}.skel.h ${name}.lskel.h"
    VERBATIM)
  set_property(GLOBAL APPEND PROPERTY CTK_BPF_SKELETONS ${skel})
endfunction()
