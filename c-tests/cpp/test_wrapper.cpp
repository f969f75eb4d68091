// Tests of include/ptrace_dbg.hpp, the C++17 wrapper, against build/tracees/tracee.
//
// Each test is a function; a failing CHECK throws check_failed, which ends that test only.
// Output: "ok NAME" or "FAIL NAME: file:line: message" per test, then "N passed, N failed".
// `test_wrapper [SUBSTRING]` runs the tests whose name contains it. Every wait is bounded;
// the make target runs the whole program under `timeout` as well.
#include "ptrace_dbg.hpp"

extern "C" {
#include "tracee_util.h"
}

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <map>
#include <string>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
namespace pd = ptrace_dbg;

// tracee_util.c reports its own failures (no tracee binary, a failing fork) through the C
// runner's runner_fail; this program has no forked runner, so such a failure ends it.
extern "C" [[noreturn]] void runner_fail(const char *file, int line, const char *fmt, ...) {
    std::fprintf(stdout, "FAIL (setup) %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stdout, fmt, ap);
    va_end(ap);
    std::fprintf(stdout, "\n");
    std::fflush(stdout);
    _exit(1);
}

namespace {

struct check_failed {
    std::string message;
};

[[noreturn]] void fail(const char *file, int line, const std::string &what) {
    throw check_failed{std::string(file) + ":" + std::to_string(line) + ": " + what};
}

#define CHECK(cond) \
    do { \
        if (!(cond)) fail(__FILE__, __LINE__, "CHECK(" #cond ") failed"); \
    } while (0)

#define CHECK_EQ(a, b) \
    do { \
        auto check_a_ = (a); \
        auto check_b_ = (b); \
        if (!(check_a_ == check_b_)) \
            fail(__FILE__, __LINE__, \
                 #a " == " #b " failed: " + std::to_string(check_a_) + " != " + \
                     std::to_string(check_b_)); \
    } while (0)

// A call that tests a timeout runs under its own deadline: if it has not returned after
// `seconds`, the program fails at once naming it, instead of hanging until make's `timeout`.
class deadline {
  public:
    deadline(int seconds, const char *what, const char *file, int line)
        : thread_([this, seconds, what, file, line] {
              std::unique_lock<std::mutex> lock(m_);
              if (!cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return done_; })) {
                  std::printf("FAIL %s:%d: %s did not return within %d s\n", file, line, what,
                              seconds);
                  std::fflush(stdout);
                  _exit(1);
              }
          }) {}
    deadline(const deadline &) = delete;
    deadline &operator=(const deadline &) = delete;
    ~deadline() {
        {
            std::lock_guard<std::mutex> guard(m_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

  private:
    std::mutex m_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;  // last: starts once the members it uses exist
};

#define WITHIN(seconds, expr) \
    ([&] { \
        deadline within_(seconds, #expr, __FILE__, __LINE__); \
        return (expr); \
    }())

// `expr` throws ptrace_dbg::error with code `want` (a ptrace_dbg::errc).
#define CHECK_THROWS(expr, want) \
    do { \
        bool check_threw_ = false; \
        try { \
            (void)(expr); \
        } catch (const pd::error &check_e_) { \
            check_threw_ = true; \
            if (check_e_.code() != (want)) \
                fail(__FILE__, __LINE__, #expr " threw " + std::string(check_e_.what()) + \
                                             ", expected " #want); \
        } \
        if (!check_threw_) fail(__FILE__, __LINE__, #expr " did not throw " #want); \
    } while (0)

constexpr auto WAIT = 10s;

// The tracees' stdout would mix with the test output: it goes to /dev/null.
int dev_null() {
    static int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    return fd;
}

pd::process launch_tracee(std::vector<std::string> args) {
    args.insert(args.begin(), tracee_path());
    pd::launch_options options;
    options.stdout_fd = dev_null();
    return pd::process::launch(tracee_path(), args, std::nullopt, options);
}

uint64_t symbol(const pd::process &p, const char *name) {
    uint64_t addr = symbol_address(p.pid(), tracee_path(), name);
    if (addr == 0) fail(__FILE__, __LINE__, std::string("no symbol ") + name);
    return addr;
}

// Continues until the process is stopped again; the trigger thread.
int32_t continue_and_wait(pd::process &p) {
    p.cont();
    auto trigger = p.wait_stop(WAIT);
    if (!trigger) fail(__FILE__, __LINE__, "no stop within the wait");
    return *trigger;
}

// Continues through every stop until the process has exited; how it ended.
pd::exit_info run_to_exit(pd::process &p) {
    for (int stops = 0; stops < 1000; stops++) {
        std::error_code ec;
        p.cont(ec);
        if (ec == pd::errc::exited) break;
        if (ec) fail(__FILE__, __LINE__, "cont: " + ec.message());
        auto trigger = p.wait_stop(WAIT, ec);
        if (ec == pd::errc::exited) break;
        if (ec) fail(__FILE__, __LINE__, "wait_stop: " + ec.message());
        if (!trigger) fail(__FILE__, __LINE__, "no stop within the wait");
    }
    auto status = p.exit_status();
    if (!status) fail(__FILE__, __LINE__, "the process did not exit");
    return *status;
}

// Process pid is gone (reaped, not even a zombie) within timeout.
bool process_gone(int32_t pid, std::chrono::milliseconds timeout) {
    long long deadline = now_ms() + timeout.count();
    do {
        if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
        usleep(2000);
    } while (now_ms() < deadline);
    return false;
}

// --- the tests

void launch_runs_the_program_to_its_exit_code() {
    pd::process p = launch_tracee({"exit", "7"});
    CHECK(p);
    CHECK(p.pid() > 0);
    CHECK(p.stop_cause(p.pid()).kind == pd::cause_kind::exec);
    CHECK(!p.exit_status());  // not exited yet: nullopt, not an exception
    pd::exit_info status = run_to_exit(p);
    CHECK_EQ(status.code, 7);
    CHECK_EQ(status.signal, 0);
    CHECK_THROWS(p.cont(), pd::errc::exited);
    CHECK_THROWS(WITHIN(3, p.wait_stop(0ms)), pd::errc::exited);
}

void kill_reports_sigkill() {
    pd::process p = launch_tracee({"spin", "0"});
    p.kill();
    auto status = p.exit_status();
    CHECK(status);
    CHECK_EQ(status->code, -1);
    CHECK_EQ(status->signal, SIGKILL);
}

void breakpoint_hits_report_the_cause_and_pc() {
    pd::process p = launch_tracee({"bp_loop", "3"});
    const int32_t pid = p.pid();
    const uint64_t target = symbol(p, "target_fn");
    p.add_breakpoint(target);
    CHECK_THROWS(p.add_breakpoint(target), pd::errc::breakpoint_exists);
    CHECK_THROWS(p.remove_breakpoint(target + 1), pd::errc::no_breakpoint);
    for (int hit = 0; hit < 3; hit++) {
        CHECK_EQ(continue_and_wait(p), pid);
        pd::cause cause = p.stop_cause(pid);
        CHECK(cause.kind == pd::cause_kind::breakpoint);
        CHECK_EQ(cause.pc, target);
        CHECK(p.state(pid) == pd::thread_state::stopped_breakpoint);
        CHECK_EQ(p.pc(pid), target);
        CHECK_EQ(p.regs(pid).rdi, static_cast<uint64_t>(hit));  // target_fn(i): i is the loop counter
    }
    p.step(pid);  // over the breakpoint: one instruction into target_fn
    CHECK(p.pc(pid) > target && p.pc(pid) <= target + 15);
    p.remove_breakpoint(target);
    CHECK_EQ(run_to_exit(p).code, 0);
}

void watchpoints_report_their_hits_and_slots_run_out() {
    pd::process p = launch_tracee({"bp_loop", "3"});
    const int32_t pid = p.pid();
    const uint64_t target = symbol(p, "target_fn");
    CHECK_THROWS(p.add_watchpoint(target, 4, pd::watch_kind::execute), pd::errc::invalid_argument);
    const int32_t id = p.add_watchpoint(target, 1, pd::watch_kind::execute);
    int32_t more[3];
    for (int i = 0; i < 3; i++) more[i] = p.add_watchpoint(8 * (i + 1), 8, pd::watch_kind::write);
    std::error_code ec;
    p.add_watchpoint(0x100, 8, pd::watch_kind::read_write, ec);
    CHECK(ec == pd::errc::no_resource);
    for (int32_t m : more) p.remove_watchpoint(m);
    CHECK_THROWS(p.remove_watchpoint(more[0]), pd::errc::no_breakpoint);
    CHECK(!p.watchpoint_hit(pid));
    for (int hit = 0; hit < 3; hit++) {
        CHECK_EQ(continue_and_wait(p), pid);
        pd::cause cause = p.stop_cause(pid);
        CHECK(cause.kind == pd::cause_kind::watchpoint);
        CHECK_EQ(cause.pc, target);
        CHECK_EQ(p.pc(pid), target);  // before the instruction
        auto w = p.watchpoint_hit(pid);
        CHECK(w.has_value() && w->id == id && w->addr == target);
    }
    p.remove_watchpoint(id);
    CHECK_EQ(run_to_exit(p).code, 0);
}

void registers_read_and_write() {
    pd::process p = launch_tracee({"bp_loop", "1"});
    const int32_t pid = p.pid();
    const uint64_t target = symbol(p, "target_fn");
    p.add_breakpoint(target);
    continue_and_wait(p);
    pd::registers r = p.regs(pid);
    CHECK_EQ(r.rip, target);
    CHECK_EQ(p.sp(pid), r.rsp);
    r.rax = 0x1234abcd;  // a scratch register at a function's entry
    p.set_regs(pid, r);
    CHECK_EQ(p.regs(pid).rax, 0x1234abcdu);
    auto rax = pd::reg_index("rax");
    CHECK(rax.has_value());
    CHECK(pd::reg_name(*rax) == "rax");
    CHECK_EQ(p.reg(pid, *rax), 0x1234abcdu);
    p.set_reg(pid, *rax, 7);
    CHECK_EQ(p.regs(pid).rax, 7u);
    CHECK(!pd::reg_index("no_such_register"));
    CHECK(pd::reg_name(pd::reg_count()).empty());
    p.set_pc(pid, target);  // the same pc: the next continue steps over the breakpoint
    CHECK_EQ(p.pc(pid), target);
    p.remove_breakpoint(target);
    CHECK_EQ(run_to_exit(p).code, 0);
}

// Registers by name, the x87/SSE struct and the raw XSAVE area (issue 13).
void registers_by_name_and_xstate() {
    pd::process p = launch_tracee({"bp_loop", "1"});
    const int32_t pid = p.pid();
    const uint64_t target = symbol(p, "target_fn");
    p.add_breakpoint(target);
    continue_and_wait(p);
    const std::vector<unsigned char> saved = p.xstate(pid);
    CHECK(saved.size() >= 576u);
    bool has_xmm15 = false;
    for (const auto &[name, size] : p.register_names())
        has_xmm15 |= name == "xmm15" && size == 16;
    CHECK(has_xmm15);
    std::array<unsigned char, 16> value{};
    for (std::size_t i = 0; i < value.size(); i++) value[i] = static_cast<unsigned char>(0xa0 + i);
    p.write_register(pid, "xmm1", value);
    std::vector<unsigned char> back = p.read_register(pid, "xmm1");
    CHECK(back.size() == 16 && std::memcmp(back.data(), value.data(), 16) == 0);
    pd::fpregs fp = p.fpregs(pid);
    CHECK(std::memcmp(reinterpret_cast<const unsigned char *>(fp.xmm_space) + 16, value.data(),
                      16) == 0);
    uint64_t rip = 0;
    std::vector<unsigned char> rip_bytes = p.read_register(pid, "rip");
    CHECK_EQ(rip_bytes.size(), 8u);
    std::memcpy(&rip, rip_bytes.data(), 8);
    CHECK_EQ(rip, target);
    CHECK_THROWS(p.read_register(pid, "zmm32"), pd::errc::invalid_argument);
    CHECK_THROWS(p.read_register(pid, "dr4"), pd::errc::not_supported);
    CHECK_THROWS(p.write_register(pid, "xmm1", std::array<unsigned char, 8>{}),
                 pd::errc::invalid_argument);
    std::error_code ec;
    (void)p.read_register(pid, "no_such_register", ec);
    CHECK(ec == pd::errc::invalid_argument);
    p.set_xstate(pid, saved);  // everything back as it was
    CHECK(p.read_register(pid, "xmm1") != back);
    CHECK(p.xstate(pid) == saved);
    p.remove_breakpoint(target);
    CHECK_EQ(run_to_exit(p).code, 0);
}

void peek_reads_memory_into_any_byte_range() {
    pd::process p = launch_tracee({"pattern"});
    const int32_t pid = p.pid();
    const uint64_t target = symbol(p, "target_fn");
    const uint64_t pattern = symbol(p, "pattern");
    p.add_breakpoint(target);
    continue_and_wait(p);  // pattern is filled by now

    std::vector<unsigned char> buf(4096);
    CHECK_EQ(p.peek(pid, pattern, buf), buf.size());
    for (std::size_t i = 0; i < buf.size(); i++)
        if (buf[i] != static_cast<unsigned char>(i * 7 % 251))
            fail(__FILE__, __LINE__, "pattern byte " + std::to_string(i) + " is " + std::to_string(buf[i]));

    std::vector<unsigned char> bytes = p.peek(pid, pattern + 100, 3);
    CHECK_EQ(bytes.size(), 3u);
    CHECK_EQ(bytes[0], 100 * 7 % 251);

    std::array<uint32_t, 2> words{};
    CHECK_EQ(p.peek(pid, pattern, words), 8u);
    unsigned char raw[4];
    CHECK_EQ(p.peek(pid, pattern, pd::mutable_bytes(raw, sizeof raw)), 4u);
    CHECK(std::memcmp(raw, words.data(), 4) == 0);

    // The breakpoint's int3 never shows.
    CHECK(p.peek(pid, target, 1)[0] != 0xcc);

    // Unmapped memory: an exception carrying the partial count, or ec with the count returned.
    try {
        p.peek(pid, 0, buf);
        fail(__FILE__, __LINE__, "peek at 0 did not throw");
    } catch (const pd::error &e) {
        CHECK(e.code() == pd::errc::fault);
        CHECK(e.code() == std::errc::bad_address);
        CHECK_EQ(e.bytes_done(), 0u);
    }
    std::error_code ec;
    CHECK_EQ(p.peek(pid, 0, buf, ec), 0u);
    CHECK(ec == pd::errc::fault);
    CHECK_EQ(p.peek(pid, pattern, buf, ec), buf.size());
    CHECK(!ec);
}

void poke_patches_code() {
    pd::process p = launch_tracee({"poke"});  // exits with check_poke(), 1 unless patched
    const int32_t pid = p.pid();
    const uint64_t check_poke = symbol(p, "check_poke");
    const std::array<unsigned char, 3> xor_eax_ret{0x31, 0xc0, 0xc3};  // return 0
    CHECK_EQ(p.poke(pid, check_poke, xor_eax_ret), 3u);
    CHECK(p.peek(pid, check_poke, 3) == std::vector<unsigned char>(xor_eax_ret.begin(), xor_eax_ret.end()));
    std::error_code ec;
    CHECK_EQ(p.poke(pid, 0, xor_eax_ret, ec), 0u);
    CHECK(ec == pd::errc::fault);
    CHECK_EQ(run_to_exit(p).code, 0);
}

void wait_stop_times_out_and_event_fd_follows_the_stops() {
    pd::process p = launch_tracee({"spin", "0"});
    const int32_t pid = p.pid();
    const int fd = p.event_fd();
    CHECK(fd >= 0);
    p.cont();
    auto started = now_ms();
    CHECK(!WITHIN(3, p.wait_stop(50ms)));  // still running: nullopt, no exception
    CHECK(now_ms() - started >= 40);
    std::error_code ec;
    CHECK(!WITHIN(3, p.wait_stop(0ms, ec)));
    CHECK(!ec);
    pollfd pfd{fd, POLLIN, 0};
    CHECK_EQ(poll(&pfd, 1, 0), 0);
    CHECK(p.state(pid) == pd::thread_state::running);
    CHECK_THROWS(p.regs(pid), pd::errc::bad_state);
    p.stop();
    CHECK_EQ(poll(&pfd, 1, 1000), 1);
    auto trigger = WITHIN(3, p.wait_stop(0ms));
    CHECK(trigger.has_value());
    CHECK_EQ(*trigger, 0);  // stopped on request
    CHECK(p.threads() == std::vector<int32_t>{pid});
    CHECK(p.state(pid) == pd::thread_state::stopped);
}

void threads_lists_every_thread() {
    pd::process p = launch_tracee({"threads", "3"});
    const int32_t pid = p.pid();
    long long deadline = now_ms() + 10000;
    while (p.threads().size() < 4 && now_ms() < deadline) {
        int32_t trigger = continue_and_wait(p);
        if (p.stop_cause(trigger).kind == pd::cause_kind::thread_create)
            CHECK(p.stop_cause(trigger).new_tid > 0);
    }
    p.stop();
    std::vector<int32_t> tids = p.threads();
    CHECK_EQ(tids.size(), 4u);
    CHECK_EQ(tids.front(), pid);
}

void errors_carry_code_text_and_detail() {
    // A failed launch: the library's code, its strerror text and last_error detail.
    try {
        pd::process::launch("/nonexistent/program");
        fail(__FILE__, __LINE__, "launch did not throw");
    } catch (const pd::error &e) {
        CHECK(e.code() == pd::errc::os);
        CHECK(&e.code().category() == &pd::category());
        CHECK(!e.detail().empty());
        CHECK(std::string(e.what()).find(e.detail()) != std::string::npos);
        CHECK(std::string(e.what()).find(ptrace_dbg_strerror(PTRACE_DBG_E_OS)) != std::string::npos);
        CHECK(std::string(e.what()).find("ptrace_dbg_launch") != std::string::npos);
    }
    // Each part of what() once (issue 10: "the process has exited: the process has exited").
    {
        pd::process p = pd::process::launch("/bin/true");
        p.kill();
        try {
            p.stop();
            fail(__FILE__, __LINE__, "stop after kill did not throw");
        } catch (const pd::error &e) {
            std::string what = e.what(), text = ptrace_dbg_strerror(PTRACE_DBG_E_EXITED);
            CHECK(what.find(text) != std::string::npos);
            CHECK(what.find(text) == what.rfind(text));
        }
    }
    // The same through std::error_code: no exception, an empty process.
    std::error_code ec;
    pd::process none = pd::process::launch("/nonexistent/program", {}, std::nullopt, {}, ec);
    CHECK(ec == pd::errc::os);
    CHECK(!none);
    CHECK(!pd::last_error().empty());

    CHECK_THROWS(pd::process::attach(-1), pd::errc::invalid_argument);
    pd::process::attach(-1, ec);
    CHECK(ec == pd::errc::invalid_argument);
    CHECK(ec == std::errc::invalid_argument);

    // An empty process is an invalid handle, never a crash.
    pd::process empty;
    CHECK_THROWS(empty.pid(), pd::errc::invalid_handle);
    CHECK_THROWS(empty.cont(), pd::errc::invalid_handle);
    empty.stop(ec);
    CHECK(ec == pd::errc::invalid_handle);

    // The category.
    CHECK(std::string(pd::category().name()) == "ptrace_dbg");
    CHECK(pd::make_error_code(pd::errc::timeout).message() == ptrace_dbg_strerror(PTRACE_DBG_E_TIMEOUT));
    CHECK(std::error_code(pd::errc::timeout) == std::errc::timed_out);
    CHECK(std::error_code(pd::errc::bad_state) != std::errc::timed_out);
    CHECK_EQ(static_cast<int>(pd::errc::exited), PTRACE_DBG_E_EXITED);
    CHECK(pd::signal_name(11) == "SIGSEGV");
    CHECK(pd::version() == std::to_string(PTRACE_DBG_VERSION_MAJOR) + "." +
                               std::to_string(PTRACE_DBG_VERSION_MINOR) + "." +
                               std::to_string(PTRACE_DBG_VERSION_PATCH));
}

static_assert(!std::is_copy_constructible_v<pd::process>, "process is move-only");
static_assert(!std::is_copy_assignable_v<pd::process>, "process is move-only");
static_assert(std::is_nothrow_move_constructible_v<pd::process>, "moves do not throw");
static_assert(std::is_nothrow_move_assignable_v<pd::process>, "moves do not throw");
static_assert(std::is_nothrow_destructible_v<pd::process>, "freeing does not throw");
static_assert(std::is_nothrow_copy_constructible_v<pd::error>, "exceptions copy without throwing");
static_assert(std::is_base_of_v<std::system_error, pd::error>, "a std::system_error");

void moves_transfer_ownership() {
    pd::process a = launch_tracee({"spin", "0"});
    const int32_t pid_a = a.pid();
    pd::process b(std::move(a));
    CHECK(!a);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    CHECK(a.get() == nullptr);
    CHECK_THROWS(a.pid(), pd::errc::invalid_handle);
    CHECK_EQ(b.pid(), pid_a);

    // Assigning over a live process frees it: a launched process is killed and reaped.
    pd::process c = launch_tracee({"spin", "0"});
    const int32_t pid_c = c.pid();
    c = std::move(b);
    CHECK_EQ(c.pid(), pid_a);
    CHECK(process_gone(pid_c, 5s));
    CHECK(!process_gone(pid_a, 0ms));

    swap(a, c);
    CHECK_EQ(a.pid(), pid_a);
    CHECK(!c);

    // release() hands the handle back to C.
    ptrace_dbg_process *raw = a.release();
    CHECK(!a);
    ptrace_dbg_process_free(raw);
    CHECK(process_gone(pid_a, 5s));
}

void destructor_frees_the_process() {
    int32_t launched = 0;
    {
        pd::process p = launch_tracee({"spin", "0"});
        launched = p.pid();
        p.cont();
    }
    CHECK(process_gone(launched, 5s));  // killed and reaped at scope exit

    // An attached process is detached instead: it runs on, untraced.
    int out = -1;
    const char *const args[] = {"threads", "2", nullptr};
    pid_t child = spawn_tracee(&out, args);
    char line[64];
    CHECK(read_line(out, line, sizeof line, 10000));
    CHECK(std::string(line) == "ready");
    {
        pd::process p = pd::process::attach(child);
        CHECK_EQ(p.threads().size(), 3u);
        CHECK(tracer_pid(child) > 0);
    }
    CHECK_EQ(tracer_pid(child), 0);
    CHECK(!process_gone(child, 0ms));
    kill_child(child);
    close(out);
}

// take_child hands each forked child over as a pd::process of its own.
void follow_fork_takes_children_as_processes() {
    std::string family = tracee_path();
    family.replace(family.rfind('/') + 1, std::string::npos, "family");
    pd::launch_options options;
    options.stdout_fd = dev_null();
    pd::process p = pd::process::launch(family, {family, "forks", "2", "3"}, std::nullopt,
                                        options);
    CHECK_THROWS(p.set_follow(4), pd::errc::invalid_argument);
    p.set_follow(PTRACE_DBG_FOLLOW_FORK);
    uint64_t hit = symbol_address(p.pid(), family.c_str(), "hit");
    CHECK(hit != 0);
    p.add_breakpoint(hit);
    std::vector<int32_t> codes;
    int parent_hits = 0;
    for (int stops = 0; stops < 1000; stops++) {
        std::error_code ec;
        p.cont();
        p.wait_stop(WAIT, ec);
        if (ec == pd::errc::exited) break;
        for (int32_t tid : p.threads()) {
            pd::cause c = p.stop_cause(tid);
            if (c.kind == pd::cause_kind::breakpoint) parent_hits++;
            if (c.kind != pd::cause_kind::fork) continue;
            pd::process child = p.take_child(c.new_tid);
            CHECK_EQ(child.pid(), c.new_tid);
            int child_hits = 0;
            for (int n = 0; n < 1000; n++) {
                child.cont();
                child.wait_stop(WAIT, ec);
                if (ec == pd::errc::exited) break;
                if (child.stop_cause(child.pid()).kind == pd::cause_kind::breakpoint)
                    child_hits++;
            }
            CHECK_EQ(child_hits, 3 * (int)(codes.size() + 1));
            codes.push_back(child.exit_status()->code);
        }
    }
    CHECK_EQ(parent_hits, 3);
    CHECK_EQ(p.exit_status()->code, 0);
    CHECK(codes == (std::vector<int32_t>{10, 11}));
}

void symbols_maps_and_libraries() {
    pd::process p = launch_tracee({"exit", "4"});
    // Maps and their paths agree with /proc/PID/maps.
    std::vector<pd::mapping> maps = p.maps();
    CHECK(!maps.empty());
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/maps", static_cast<int>(p.pid()));
    FILE *f = std::fopen(path, "r");
    CHECK(f != nullptr);
    char line[4352];
    std::size_t i = 0;
    while (std::fgets(line, sizeof line, f)) {
        unsigned long long start = 0;
        CHECK(std::sscanf(line, "%llx-", &start) == 1);
        CHECK(i < maps.size());
        CHECK_EQ(maps[i].raw.start, static_cast<uint64_t>(start));
        std::string l(line);
        if (!maps[i].path.empty()) CHECK(l.find(maps[i].path) != std::string::npos);
        i++;
    }
    std::fclose(f);
    CHECK_EQ(i, maps.size());
    // A symbol of the program, both ways; a breakpoint by name in libc, set when it loads.
    uint64_t target = p.symbol_address("target_fn");
    pd::symbol s = p.address_symbol(target + 1);
    CHECK(s.name == "target_fn" && s.offset == 1u);
    CHECK_THROWS(p.symbol_address("no_such_symbol"), pd::errc::not_found);
    CHECK_THROWS(p.address_symbol(16), pd::errc::not_found);
    int32_t id = p.add_symbol_breakpoint("exit", "libc.so.6");
    p.cont();
    std::optional<int32_t> tid = p.wait_stop(10s);
    CHECK(tid.has_value());
    pd::cause c = p.stop_cause(*tid);
    CHECK(c.kind == pd::cause_kind::breakpoint);
    CHECK_EQ(c.pc, p.symbol_address("exit", "libc.so.6"));
    std::vector<pd::library> libs = p.libraries();
    CHECK(libs.size() >= 3u);
    bool libc = false;
    for (const pd::library &l : libs) libc = libc || l.path.find("libc.so.6") != std::string::npos;
    CHECK(libc);
    p.remove_symbol_breakpoint(id);
    CHECK_THROWS(p.remove_symbol_breakpoint(id), pd::errc::not_found);
    CHECK_THROWS(p.set_follow(4), pd::errc::invalid_argument);
}

// build/tracees/syscalls "change": getpid's result changed at its exit, the skipped
// unlinkat's at its entry; the program prints what it saw.
void syscalls_are_traced_and_changed() {
    std::string path = tracee_path();
    path = path.substr(0, path.rfind('/') + 1) + "syscalls";
    int fds[2];
    CHECK(pipe2(fds, O_CLOEXEC) == 0);
    pd::launch_options options;
    options.stdout_fd = fds[1];
    pd::process p = pd::process::launch(path, {path, "change", "/nonexistent/x", "/dev/null"},
                                        std::nullopt, options);
    close(fds[1]);
    auto getpid_nr = pd::syscall_number("getpid"), unlinkat_nr = pd::syscall_number("unlinkat");
    CHECK(getpid_nr && unlinkat_nr && !pd::syscall_number("nope"));
    CHECK(pd::syscall_name(*getpid_nr) == "getpid");
    p.trace_syscalls({*getpid_nr, *unlinkat_nr}, PTRACE_DBG_SYSCALL_ENTRY | PTRACE_DBG_SYSCALL_EXIT);
    int seen = 0;
    for (int stops = 0; stops < 1000; stops++) {
        std::error_code ec;
        p.cont();
        auto trigger = p.wait_stop(WAIT, ec);
        if (ec == pd::errc::exited) break;
        CHECK(!ec && trigger);
        pd::cause c = p.stop_cause(*trigger);
        if (c.kind != pd::cause_kind::syscall_entry && c.kind != pd::cause_kind::syscall_exit)
            continue;
        pd::syscall_info_t s = p.syscall_info(*trigger);
        CHECK_EQ(s.is_exit, c.kind == pd::cause_kind::syscall_exit ? 1 : 0);
        seen++;
        if (s.number == *unlinkat_nr && !s.is_exit) {
            p.set_syscall(*trigger, -1);
            p.set_syscall_return(*trigger, -EROFS);
        }
        if (s.number == *getpid_nr && s.is_exit) p.set_syscall_return(*trigger, 99);
    }
    CHECK_EQ(seen, 4);
    char line[128];
    CHECK(read_line(fds[0], line, sizeof line, 10000));
    CHECK(std::string(line) == "unlinkat=-1 errno=" + std::to_string(EROFS) + " exists=0");
    CHECK(read_line(fds[0], line, sizeof line, 10000));
    CHECK(read_line(fds[0], line, sizeof line, 10000));
    CHECK(std::string(line).rfind("getpid=99 ", 0) == 0);
    close(fds[0]);
}

// build/tracees/tp "hits 2 300": a tracepoint records every call of tp_target, rdi the loop
// counter in order per thread; then tp "range": step_range over a 301-instruction loop.
void tracepoints_record_and_step_range_steps() {
    std::string path = tracee_path();
    path = path.substr(0, path.rfind('/') + 1) + "tp";
    pd::process p = pd::process::launch(path, {path, "hits", "2", "300"});
    int32_t id = p.add_tracepoint(symbol_address(p.pid(), path.c_str(), "tp_target"));
    p.set_record_capacity(32);
    p.cont();
    std::map<int32_t, uint64_t> next;
    size_t total = 0;
    for (int rounds = 0; rounds < 100000; rounds++) {
        for (const ptrace_dbg_record &r : p.read_records()) {
            CHECK_EQ(r.id, id);
            CHECK_EQ(r.regs.rdi, next[r.tid]++);
            total++;
        }
        std::error_code ec;
        auto trigger = p.wait_stop(std::chrono::milliseconds(5), ec);
        if (ec == pd::errc::exited) break;
        if (!ec && trigger) p.cont(); // a thread's birth or end
    }
    for (const ptrace_dbg_record &r : p.read_records()) {
        CHECK_EQ(r.regs.rdi, next[r.tid]++);
        total++;
    }
    CHECK_EQ(total, 2u * 301u);
    CHECK_EQ(p.record_stats().recorded, 2u * 301u);

    pd::process q = pd::process::launch(path, {path, "range"});
    uint64_t start = symbol_address(q.pid(), path.c_str(), "tp_range_start");
    uint64_t end = symbol_address(q.pid(), path.c_str(), "tp_range_end");
    q.add_breakpoint(start);
    q.cont();
    auto tid = q.wait_stop(WAIT);
    CHECK(tid.has_value());
    CHECK_EQ(q.step_range(*tid, start, end), 301u);
    CHECK_EQ(q.step_n(*tid, 2), 2u);
}

struct test {
    const char *name;
    void (*body)();
};

#define TEST(name) {#name, name}
const test tests[] = {
    TEST(launch_runs_the_program_to_its_exit_code),
    TEST(tracepoints_record_and_step_range_steps),
    TEST(kill_reports_sigkill),
    TEST(breakpoint_hits_report_the_cause_and_pc),
    TEST(watchpoints_report_their_hits_and_slots_run_out),
    TEST(registers_read_and_write),
    TEST(registers_by_name_and_xstate),
    TEST(peek_reads_memory_into_any_byte_range),
    TEST(poke_patches_code),
    TEST(wait_stop_times_out_and_event_fd_follows_the_stops),
    TEST(threads_lists_every_thread),
    TEST(errors_carry_code_text_and_detail),
    TEST(moves_transfer_ownership),
    TEST(destructor_frees_the_process),
    TEST(follow_fork_takes_children_as_processes),
    TEST(symbols_maps_and_libraries),
    TEST(syscalls_are_traced_and_changed),
};

}  // namespace

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : nullptr;
    int passed = 0, failed = 0;
    for (const test &t : tests) {
        if (filter && !std::strstr(t.name, filter)) continue;
        std::string failure;
        try {
            t.body();
        } catch (const check_failed &f) {
            failure = f.message;
        } catch (const std::exception &e) {
            failure = std::string("unexpected exception: ") + e.what();
        }
        if (failure.empty()) {
            std::printf("ok %s\n", t.name);
            passed++;
        } else {
            std::printf("FAIL %s: %s\n", t.name, failure.c_str());
            failed++;
        }
        std::fflush(stdout);
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
