// SIGINT/SIGTERM handling for running commands.
//
//   interrupts::install();                  // once, before running a command
//   poll({interrupts::fd(), POLLIN}, ...);  // readable once a signal arrived
//   if (interrupts::raised()) clean_up();
//
// The first signal only sets a flag and makes fd() readable, so the command
// can clean up (remove its veth, detach its BPF programs) and return. A
// second signal ends the process at once: the user insisted.
#pragma once

namespace ctk::tools::interrupts {

void install();
bool raised();
int fd(); // an eventfd; -1 before install()
// Marks the command as interrupted without a signal (stdout closed, or the
// user quit the live view).
void raise_quietly();
// Runs just before a second signal ends the process at once, to put the
// terminal back (the live view). Only async-signal-safe calls; null clears.
void set_last_words(void (*hook)());

} // namespace ctk::tools::interrupts
