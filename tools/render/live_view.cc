// The live view: ncurses on a thread of its own drawing live::Model, fed by
// the command's thread through flush(). open() sets the terminal up on the
// caller's thread; from run() on only the view's thread touches ncurses, and
// it restores the terminal as it ends (the destructor does when run() never
// ran).
#include "render/live_view.h"

#include <algorithm>
#include <atomic>
#include <clocale>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "render/live_model.h"
#include "signals.h"

// Real functions instead of ncurses' macros, which would take over names
// such as move() and erase().
#define NCURSES_NOMACROS 1
#include <curses.h>

namespace ctk::tools {

namespace {

constexpr size_t kHeldLines = 50; // errors and warnings kept for stderr
constexpr int kNoticeSeconds = 5; // how long a warning stays on the bottom line
constexpr int kTickMs = 500;      // redraw at least this often (window resizes)

// What a second SIGTERM (which ends the process at once, signals.cc) needs to
// give the terminal back: written by open() before the hook is armed.
char g_restore[128];
size_t g_restore_len = 0;
struct termios g_termios;
bool g_have_termios = false;

void restore_terminal_now() {
  if (g_restore_len) {
    ssize_t ignored = ::write(STDOUT_FILENO, g_restore, g_restore_len);
    (void)ignored;
  }
  if (g_have_termios)
    tcsetattr(STDIN_FILENO, TCSANOW, &g_termios);
}

void append_cap(const char *name) {
  const char *s = tigetstr(name);
  if (!s || s == reinterpret_cast<const char *>(-1))
    return;
  size_t n = std::strlen(s);
  if (g_restore_len + n <= sizeof g_restore) {
    std::memcpy(g_restore + g_restore_len, s, n);
    g_restore_len += n;
  }
}

void notify(int fd) {
  uint64_t one = 1;
  ssize_t ignored = ::write(fd, &one, sizeof one);
  (void)ignored;
}

void drain(int fd) {
  uint64_t n;
  while (::read(fd, &n, sizeof n) > 0) {
  }
}

int map_key(int ch) {
  switch (ch) {
  case KEY_UP:
    return live::kUp;
  case KEY_DOWN:
    return live::kDown;
  case KEY_PPAGE:
    return live::kPageUp;
  case KEY_NPAGE:
    return live::kPageDown;
  case KEY_HOME:
    return live::kHome;
  case KEY_END:
    return live::kEnd;
  case KEY_ENTER:
  case '\n':
  case '\r':
    return live::kEnter;
  case 27:
    return live::kEscape;
  case KEY_BACKSPACE:
  case 127:
  case 8:
    return live::kBackspace;
  default:
    return ch;
  }
}

} // namespace

const char *const kLiveViewHelp =
    "\nLive view (stdin and stdout on a terminal, no --format, -q or plain-output option):\n"
    "  Up/Down j/k  select a row (it stays selected across samples)\n"
    "  PgUp/PgDn Home/End g/G  move by a page, to the top, to the bottom\n"
    "  s > / S <    sort by the next / previous column (numbers largest first)\n"
    "  r            reverse the order\n"
    "  /            filter by name or ID (Enter keeps it, Esc cancels; Esc again clears)\n"
    "  Enter        the selected row's detail: every column, hidden ones too\n"
    "               (PgUp/PgDn scroll it; Enter or Esc close it)\n"
    "  + -          sample less / more often (0.5 1 2 3 5 10 15 30 60 s)\n"
    "  q ^C         quit\n";

bool wants_live_view(const ctk_command_v1 &cmd,
                     const std::vector<std::pair<std::string, std::string>> &options) {
  if ((cmd.flags & (CTK_CMD_LIVE | CTK_CMD_STREAM)) != (CTK_CMD_LIVE | CTK_CMD_STREAM))
    return false;
  return !option_given(cmd, options, CTK_OPT_NO_LIVE);
}

struct LiveRenderer::State {
  State(std::string cmd, std::vector<ColumnSpec> cols, bool no_trunc)
      : model(std::move(cols), {cmd, no_trunc}) {}

  live::Model model; // the view's thread only, while run() runs
  SCREEN *screen = nullptr;
  std::atomic<bool> owns{false};
  std::atomic<bool> body_done{false};
  int ui_wake = -1;  // command -> view: a sample, a line to show, the end
  int cmd_wake = -1; // view -> command: the interval changed

  std::mutex mu; // guards what follows
  std::optional<std::vector<Json>> ready;
  int64_t ready_time = 0;
  double requested = 0; // the command's own interval, once it asked
  double chosen = 0;    // the user's, once a key changed it
  std::vector<std::string> held;
  std::string notice;
  int64_t notice_time = 0;

  ~State() {
    for (int fd : {ui_wake, cmd_wake})
      if (fd >= 0)
        ::close(fd);
  }

  // On the view's thread when it ends, else on the caller's after it.
  void close_screen() {
    if (!screen)
      return;
    endwin();
    delscreen(screen);
    screen = nullptr;
    interrupts::set_last_words(nullptr);
    owns = false;
  }

  void ui_main();
  bool take_input(); // false: the user quit
  void draw();
};

ctk::rt::Result<std::unique_ptr<LiveRenderer>>
LiveRenderer::open(std::string command, std::vector<ColumnSpec> cols, bool no_trunc) {
  const char *term = std::getenv("TERM");
  if (!term || !*term || std::string_view(term) == "dumb")
    return ctk::rt::fail(ctk::rt::Errc::unsupported,
                         "live view: the terminal cannot be driven (TERM is unset or dumb)");
  auto s = std::make_unique<State>(std::move(command), std::move(cols), no_trunc);
  s->ui_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  s->cmd_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->ui_wake < 0 || s->cmd_wake < 0)
    return ctk::rt::fail(ctk::rt::Errc::io, "live view: cannot create an eventfd", errno);
  // Ours first: ncurses then leaves SIGINT and SIGTERM to us.
  interrupts::install();
  // Cells are UTF-8; ncursesw needs the locale to draw them as characters.
  std::setlocale(LC_CTYPE, "");
  g_have_termios = tcgetattr(STDIN_FILENO, &g_termios) == 0;
  s->screen = newterm(nullptr, stdout, stdin);
  if (!s->screen)
    return ctk::rt::fail(ctk::rt::Errc::unsupported,
                         fmt::format("live view: terminal type \"{}\" is unknown", term));
  set_term(s->screen);
  const char *cup = tigetstr("cup");
  if (!cup || cup == reinterpret_cast<const char *>(-1)) {
    s->close_screen();
    return ctk::rt::fail(ctk::rt::Errc::unsupported,
                         fmt::format("live view: terminal \"{}\" cannot move the cursor", term));
  }
  g_restore_len = 0;
  append_cap("rmcup");
  append_cap("cnorm");
  append_cap("sgr0");
  interrupts::set_last_words(&restore_terminal_now);
  // raw, not cbreak: ^C and ^Z arrive as keys, so the screen is always
  // restored by the view itself rather than by a signal.
  raw();
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  set_escdelay(25);
  curs_set(0);
  s->owns = true;
  return std::unique_ptr<LiveRenderer>(new LiveRenderer(std::move(s)));
}

LiveRenderer::LiveRenderer(std::unique_ptr<State> s) : s_(std::move(s)) {}

LiveRenderer::~LiveRenderer() {
  s_->close_screen();
}

int LiveRenderer::run(const std::function<int()> &body) {
  std::thread ui([st = s_.get()] {
    try {
      st->ui_main();
    } catch (const std::exception &e) {
      std::lock_guard lock(st->mu);
      st->held.push_back(fmt::format("ctk: live view: {}\n", e.what()));
    }
    // The terminal comes back at once, not when the command notices: one in
    // the middle of a slow sample would leave a frozen screen meanwhile.
    st->close_screen();
    // However the view ended, the command stops sampling for a screen that is gone.
    if (!st->body_done)
      interrupts::raise_quietly();
  });
  int status = 1;
  std::exception_ptr failure;
  try {
    status = body();
  } catch (...) {
    failure = std::current_exception();
  }
  s_->body_done = true;
  notify(s_->ui_wake);
  ui.join();
  s_->close_screen();
  for (const auto &line : s_->held)
    std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  if (failure)
    std::rethrow_exception(failure);
  return status;
}

void LiveRenderer::record(Json rec) {
  pending_.push_back(std::move(rec));
}

void LiveRenderer::flush() {
  {
    std::lock_guard lock(s_->mu);
    s_->ready = std::move(pending_);
    s_->ready_time = static_cast<int64_t>(std::time(nullptr));
  }
  pending_.clear();
  notify(s_->ui_wake);
}

double LiveRenderer::interval(double requested) {
  drain(s_->cmd_wake);
  std::lock_guard lock(s_->mu);
  if (s_->requested != requested) {
    s_->requested = requested;
    notify(s_->ui_wake);
  }
  return s_->chosen > 0 ? s_->chosen : requested;
}

int LiveRenderer::wake_fd() const {
  return s_->cmd_wake;
}

bool LiveRenderer::owns_terminal() const {
  return s_->owns;
}

void LiveRenderer::diagnostic(int /*level*/, const std::string &line) {
  std::lock_guard lock(s_->mu);
  if (std::find(s_->held.begin(), s_->held.end(), line) == s_->held.end() &&
      s_->held.size() < kHeldLines)
    s_->held.push_back(line);
  s_->notice = line;
  while (!s_->notice.empty() && s_->notice.back() == '\n')
    s_->notice.pop_back();
  s_->notice_time = static_cast<int64_t>(std::time(nullptr));
  notify(s_->ui_wake);
}

void LiveRenderer::State::ui_main() {
  draw();
  for (;;) {
    pollfd fds[3] = {
        {STDIN_FILENO, POLLIN, 0}, {ui_wake, POLLIN, 0}, {interrupts::fd(), POLLIN, 0}};
    if (::poll(fds, 3, kTickMs) < 0 && errno != EINTR)
      throw std::runtime_error(fmt::format("poll: {}", std::strerror(errno)));
    // SIGINT, SIGTERM, or a broken stdout: the same as "q".
    if (fds[2].revents & POLLIN)
      return;
    // The terminal went away (the window was closed).
    if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL))
      return;
    if (fds[1].revents & POLLIN)
      drain(ui_wake);
    {
      std::lock_guard lock(mu);
      if (ready) {
        model.set_sample(std::move(*ready), ready_time);
        ready.reset();
      }
      if (chosen == 0 && requested > 0 && model.interval() != requested)
        model.set_interval(requested);
    }
    if (body_done)
      return;
    if (!take_input())
      return;
    draw();
  }
}

bool LiveRenderer::State::take_input() {
  for (int ch = getch(); ch != ERR; ch = getch()) {
    if (ch == KEY_RESIZE)
      continue; // LINES and COLS are new; the next draw uses them
    switch (model.on_key(map_key(ch))) {
    case live::Action::Quit:
      return false;
    case live::Action::IntervalChanged: {
      std::lock_guard lock(mu);
      chosen = model.interval();
      notify(cmd_wake);
      break;
    }
    case live::Action::None:
      break;
    }
  }
  return true;
}

void LiveRenderer::State::draw() {
  const int height = LINES, width = COLS;
  erase();
  if (height < 4 || width < 10) {
    refresh();
    return;
  }
  const auto w = static_cast<size_t>(width);
  auto put = [&](int y, const std::string &text, attr_t attr, bool bar) {
    std::string line = live::fit(text, w);
    if (bar)
      line.append(w - std::min(w, live::rune_width(line)), ' ');
    attron(attr);
    mvaddstr(y, 0, line.c_str());
    attroff(attr);
  };
  put(0, model.status_line(), A_REVERSE, true);
  put(1, model.header_line(), A_BOLD, false);

  const int avail = height - 3; // rows 2 .. height-2; the prompt is the last line
  const int table_h = model.detail_open() ? std::max(1, (avail - 1) / 2) : avail;
  model.set_page(static_cast<size_t>(table_h));
  const size_t top = model.scroll_top(static_cast<size_t>(table_h));
  const auto &rows = model.rows();
  for (size_t i = top; i < rows.size() && i < top + static_cast<size_t>(table_h); ++i) {
    bool sel = i == model.selected();
    put(2 + static_cast<int>(i - top), model.row_line(i), sel ? A_REVERSE : A_NORMAL, sel);
  }
  if (model.has_sample() && rows.empty())
    put(2, model.record_count() ? "(no row matches the filter)" : "(nothing to show)", A_DIM,
        false);

  if (model.detail_open()) {
    int y = 2 + table_h;
    put(y++, "-- detail (PgUp/PgDn scroll, Enter or Esc close) --", A_BOLD, false);
    auto lines = model.detail_lines();
    for (size_t i = model.detail_scroll(); i < lines.size() && y < height - 1; ++i)
      put(y++, lines[i], A_NORMAL, false);
  }

  std::string notice_now;
  {
    std::lock_guard lock(mu);
    if (!notice.empty() && std::time(nullptr) - notice_time < kNoticeSeconds)
      notice_now = notice;
  }
  if (!notice_now.empty() && !model.editing_filter())
    put(height - 1, notice_now, A_BOLD, false);
  else
    put(height - 1, model.prompt_line(), A_NORMAL, false);
  refresh();
}

} // namespace ctk::tools
