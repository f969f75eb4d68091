// ptrace_dbg.hpp: a header-only C++17 wrapper over the C API of ptrace_dbg.h.
//
// - ptrace_dbg::process owns one ptrace_dbg_process handle (move-only); its destructor calls
//   ptrace_dbg_process_free, which kills a launched process and detaches an attached one.
// - Failures throw ptrace_dbg::error, a std::system_error whose code() is in
//   ptrace_dbg::category() (compare it with ptrace_dbg::errc::bad_state, ...), whose
//   detail() is ptrace_dbg_last_error() captured at the failure, and whose bytes_done() is
//   the partial count of a failed peek or poke.
// - The common calls also come as noexcept overloads taking a std::error_code& last: they
//   set it (or clear it) instead of throwing; ptrace_dbg::last_error() then has the detail.
// - Two results of the C API are not errors here: a wait_stop that times out returns
//   std::nullopt, and exit_status() of a process that has not exited returns std::nullopt.
//
// Threads: every call may be made from any thread, concurrently, as in C (the library
// serializes calls on one process). A process object itself is like a std::unique_ptr: calls
// through it from several threads are fine; moving, assigning or destroying it while another
// thread uses it is not.
//
// Compiles with -std=c++17 and later; link with -lptrace_dbg as for C.
#ifndef PTRACE_DBG_HPP
#define PTRACE_DBG_HPP

#include "ptrace_dbg.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace ptrace_dbg {

// ---------------------------------------------------------------------------------------
// Result codes as a std::error_code enum.

// The PTRACE_DBG_E_* codes, same values. (PTRACE_DBG_OK is the empty std::error_code.)
enum class errc : int {
    invalid_argument = PTRACE_DBG_E_INVALID_ARGUMENT,
    invalid_handle = PTRACE_DBG_E_INVALID_HANDLE,
    bad_state = PTRACE_DBG_E_BAD_STATE,
    no_such_thread = PTRACE_DBG_E_NO_SUCH_THREAD,
    breakpoint_exists = PTRACE_DBG_E_BREAKPOINT_EXISTS,
    no_breakpoint = PTRACE_DBG_E_NO_BREAKPOINT,
    permission = PTRACE_DBG_E_PERMISSION,
    no_such_process = PTRACE_DBG_E_NO_SUCH_PROCESS,
    timeout = PTRACE_DBG_E_TIMEOUT,
    exited = PTRACE_DBG_E_EXITED,
    fault = PTRACE_DBG_E_FAULT,
    buffer_too_small = PTRACE_DBG_E_BUFFER_TOO_SMALL,
    os = PTRACE_DBG_E_OS,
    internal = PTRACE_DBG_E_INTERNAL,
    no_resource = PTRACE_DBG_E_NO_RESOURCE,
    not_found = PTRACE_DBG_E_NOT_FOUND,
    not_supported = PTRACE_DBG_E_NOT_SUPPORTED,
};

namespace detail {

class category_impl final : public std::error_category {
public:
    const char *name() const noexcept override { return "ptrace_dbg"; }

    // ptrace_dbg_strerror's fixed text.
    std::string message(int code) const override { return ptrace_dbg_strerror(code); }

    // The portable std::errc a code corresponds to, so that e.g.
    // `e.code() == std::errc::timed_out` holds for errc::timeout.
    std::error_condition default_error_condition(int code) const noexcept override {
        switch (code) {
        case PTRACE_DBG_E_INVALID_ARGUMENT:
            return std::errc::invalid_argument;
        case PTRACE_DBG_E_PERMISSION:
            return std::errc::operation_not_permitted;
        case PTRACE_DBG_E_NO_SUCH_PROCESS:
            return std::errc::no_such_process;
        case PTRACE_DBG_E_TIMEOUT:
            return std::errc::timed_out;
        case PTRACE_DBG_E_FAULT:
            return std::errc::bad_address;
        case PTRACE_DBG_E_BUFFER_TOO_SMALL:
            return std::errc::no_buffer_space;
        case PTRACE_DBG_E_NOT_SUPPORTED:
            return std::errc::not_supported;
        default:
            return std::error_condition(code, *this);
        }
    }
};

}  // namespace detail

// The category of every error code this wrapper makes.
inline const std::error_category &category() noexcept {
    static const detail::category_impl instance;
    return instance;
}

inline std::error_code make_error_code(errc e) noexcept {
    return std::error_code(static_cast<int>(e), category());
}

}  // namespace ptrace_dbg

namespace std {
template <>
struct is_error_code_enum<ptrace_dbg::errc> : true_type {};
}  // namespace std

namespace ptrace_dbg {

// The detail of this thread's last failing call (ptrace_dbg_last_error()): valid until the
// next failing ptrace_dbg_* call on this thread.
inline std::string_view last_error() noexcept { return ptrace_dbg_last_error(); }

// The loaded library's version, "MAJOR.MINOR.PATCH".
inline std::string_view version() noexcept { return ptrace_dbg_version(); }

// "SIGSEGV" for 11, "<invalid>" out of range.
inline std::string_view signal_name(int32_t signo) noexcept { return ptrace_dbg_signal_name(signo); }

// The exception every throwing call of this wrapper throws for a PTRACE_DBG_E_* result.
// what() is "FUNCTION: DETAIL: STRERROR-TEXT", each part once: the strerror text is left out
// when DETAIL already says it ("ptrace_dbg_wait_stop: the process has exited").
class error : public std::system_error {
public:
    error(int code, const char *function, std::string detail, std::size_t bytes_done = 0)
        : std::system_error(code, category(), make_what(function, detail)),
          what_(std::make_shared<const std::string>(make_full_what(code, function, detail))),
          detail_(std::make_shared<const std::string>(std::move(detail))),
          bytes_done_(bytes_done) {}

    const char *what() const noexcept override { return what_->c_str(); }

    // ptrace_dbg_last_error() as it was when the call failed ("" if it said nothing).
    const std::string &detail() const noexcept { return *detail_; }
    // For peek and poke: the bytes transferred before the failure. 0 for other calls.
    std::size_t bytes_done() const noexcept { return bytes_done_; }

private:
    static std::string make_what(const char *function, const std::string &detail) {
        std::string what = function;
        if (!detail.empty()) what += ": " + detail;
        return what;
    }
    static std::string make_full_what(int code, const char *function, const std::string &detail) {
        std::string what = make_what(function, detail);
        const char *text = ptrace_dbg_strerror(code);
        if (detail.find(text) == std::string::npos) what += std::string(": ") + text;
        return what;
    }

    // Shared so that copying the exception cannot throw.
    std::shared_ptr<const std::string> what_;
    std::shared_ptr<const std::string> detail_;
    std::size_t bytes_done_;
};

namespace detail {

// Throws ptrace_dbg::error for a failing result, with this thread's last_error detail
// (read at once: the next failing call on this thread replaces it).
inline void check(int rc, const char *function, std::size_t bytes_done = 0) {
    if (rc != PTRACE_DBG_OK) throw error(rc, function, ptrace_dbg_last_error(), bytes_done);
}

// Sets ec from a result code; true on success.
inline bool set(int rc, std::error_code &ec) noexcept {
    if (rc == PTRACE_DBG_OK) {
        ec.clear();
        return true;
    }
    ec.assign(rc, category());
    return false;
}

// A timeout for the C API: -1 waits forever, longer ones are capped at INT32_MAX ms.
inline int32_t timeout_ms(std::optional<std::chrono::milliseconds> timeout) noexcept {
    if (!timeout) return -1;
    auto count = timeout->count();
    if (count > std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
    if (count < std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::min();
    return static_cast<int32_t>(count);
}

// argv/envp as the C API takes them: NULL-terminated arrays of the strings' c_str().
inline std::vector<const char *> c_strings(const std::vector<std::string> &strings) {
    std::vector<const char *> out;
    out.reserve(strings.size() + 1);
    for (const auto &s : strings) out.push_back(s.c_str());
    out.push_back(nullptr);
    return out;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// Byte ranges for peek and poke (a small std::span<std::byte> for C++17).

template <class Byte>
class basic_byte_span {
    static_assert(std::is_same_v<std::remove_const_t<Byte>, unsigned char>, "bytes only");
    using void_pointer = std::conditional_t<std::is_const_v<Byte>, const void *, void *>;

public:
    constexpr basic_byte_span() noexcept = default;
    basic_byte_span(void_pointer data, std::size_t size) noexcept
        : data_(static_cast<Byte *>(data)), size_(size) {}
    // Any contiguous container or span of trivially copyable elements: std::vector,
    // std::array, std::string, C arrays, std::span, ...
    template <class Container,
              class Element = std::remove_pointer_t<decltype(std::data(std::declval<Container &>()))>,
              class = std::enable_if_t<
                  !std::is_same_v<std::remove_cv_t<std::remove_reference_t<Container>>,
                                  basic_byte_span> &&
                  std::is_trivially_copyable_v<Element> &&
                  (std::is_const_v<Byte> || !std::is_const_v<Element>)>>
    basic_byte_span(Container &&c) noexcept  // NOLINT: implicit, as std::span's
        : data_(reinterpret_cast<Byte *>(std::data(c))), size_(std::size(c) * sizeof(Element)) {}

    constexpr Byte *data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }

private:
    Byte *data_ = nullptr;
    std::size_t size_ = 0;
};

using mutable_bytes = basic_byte_span<unsigned char>;
using const_bytes = basic_byte_span<const unsigned char>;

// ---------------------------------------------------------------------------------------
// Values the calls return.

// A thread's state, PTRACE_DBG_STATE_*.
enum class thread_state : int32_t {
    running = PTRACE_DBG_STATE_RUNNING,
    single_stepping = PTRACE_DBG_STATE_SINGLE_STEPPING,
    stopping = PTRACE_DBG_STATE_STOPPING,
    stopped = PTRACE_DBG_STATE_STOPPED,
    stopped_breakpoint = PTRACE_DBG_STATE_STOPPED_BREAKPOINT,
    stopped_signal = PTRACE_DBG_STATE_STOPPED_SIGNAL,
    stopped_thread_create = PTRACE_DBG_STATE_STOPPED_THREAD_CREATE,
    stopped_exiting = PTRACE_DBG_STATE_STOPPED_EXITING,
    exiting = PTRACE_DBG_STATE_EXITING,
    exited = PTRACE_DBG_STATE_EXITED,
    detached = PTRACE_DBG_STATE_DETACHED,
};

// Why a thread is stopped, PTRACE_DBG_CAUSE_*.
enum class cause_kind : int32_t {
    stopped = PTRACE_DBG_CAUSE_STOPPED,
    breakpoint = PTRACE_DBG_CAUSE_BREAKPOINT,
    signal = PTRACE_DBG_CAUSE_SIGNAL,
    thread_create = PTRACE_DBG_CAUSE_THREAD_CREATE,
    thread_exit = PTRACE_DBG_CAUSE_THREAD_EXIT,
    exec = PTRACE_DBG_CAUSE_EXEC,
    fork = PTRACE_DBG_CAUSE_FORK,  // only after set_follow(PTRACE_DBG_FOLLOW_FORK)
    watchpoint = PTRACE_DBG_CAUSE_WATCHPOINT,  // only after add_watchpoint
    syscall_entry = PTRACE_DBG_CAUSE_SYSCALL_ENTRY,  // only while system calls are traced
    syscall_exit = PTRACE_DBG_CAUSE_SYSCALL_EXIT,
    library = PTRACE_DBG_CAUSE_LIBRARY,
};

// One memory mapping (ptrace_dbg_mapping plus its path).
struct mapping {
    ptrace_dbg_mapping raw{};
    std::string path;  // "" for anonymous memory, "[stack]", a file path, ...
};

// One loaded object (ptrace_dbg_library plus its path).
struct library {
    ptrace_dbg_library raw{};
    std::string path;
};

// The symbol containing an address.
struct symbol {
    std::string name;
    uint64_t offset = 0;
    std::string path;  // its object's
};

// What a watchpoint watches, PTRACE_DBG_WATCH_* (x86 has no read-only watchpoint).
enum class watch_kind : int32_t {
    execute = PTRACE_DBG_WATCH_EXECUTE,  // an instruction (length 1), without patching it
    write = PTRACE_DBG_WATCH_WRITE,
    read_write = PTRACE_DBG_WATCH_READ_WRITE,
};

// Which watchpoint a thread tripped (ptrace_dbg_watchpoint_hit).
struct watch_hit {
    int32_t id = 0;
    uint64_t addr = 0;  // the watchpoint's address
};

// The system call a thread is stopped at (number, is_exit, args[6], ret, is_error, arch, pc,
// sp), as ptrace_dbg_syscall_info reports it.
using syscall_info_t = ptrace_dbg_syscall;

// The name of x86-64 system call `number` ("openat"); "" if there is none.
inline std::string_view syscall_name(int32_t number) noexcept {
    const char *name = ptrace_dbg_syscall_name(number);
    return name ? std::string_view(name) : std::string_view();
}
// The number of the x86-64 system call `name`; nullopt if there is none.
inline std::optional<int32_t> syscall_number(const std::string &name) noexcept {
    int32_t number = 0;
    if (ptrace_dbg_syscall_number(name.c_str(), &number) != PTRACE_DBG_OK) return std::nullopt;
    return number;
}

// ptrace_dbg_cause with a typed kind; fields that do not apply to the kind are 0.
struct cause {
    cause_kind kind = cause_kind::stopped;
    int32_t signal = 0;       // signal: the pending signal; thread_exit: terminating signal or 0
    int32_t new_tid = 0;      // thread_create: the new thread; fork: the new process
    int32_t exit_status = 0;  // thread_exit: the exit status, or -1 when killed by a signal
    uint64_t pc = 0;          // breakpoint: the breakpoint's address; watchpoint: its address

    static cause from_c(const ptrace_dbg_cause &c) noexcept {
        return cause{static_cast<cause_kind>(c.kind), c.signal, c.new_tid, c.exit_status, c.pc};
    }
};

// How a process ended.
struct exit_info {
    int32_t code = -1;   // the exit code, or -1 when a signal killed it
    int32_t signal = 0;  // the terminating signal, or 0
};

// The x86-64 registers (the kernel's user_regs_struct): r.rip, r.rsp, r.rdi, ...
using registers = ptrace_dbg_regs;
// The x87/SSE registers (the kernel's user_fpregs_struct).
using fpregs = ptrace_dbg_fpregs;

// How launch starts a program (ptrace_dbg_launch_options).
struct launch_options {
    std::optional<std::string> cwd;  // nullopt: inherit
    int32_t stdin_fd = -1;           // -1: inherit; else dup2'ed onto 0 in the child
    int32_t stdout_fd = -1;
    int32_t stderr_fd = -1;
    uint32_t flags = 0;  // PTRACE_DBG_LAUNCH_* bits, e.g. PTRACE_DBG_LAUNCH_DISABLE_ASLR
};

// The number of registers, their names and indices (the architecture-neutral view).
inline std::size_t reg_count() noexcept { return ptrace_dbg_reg_count(); }
// "" when index is out of range.
inline std::string_view reg_name(std::size_t index) noexcept {
    const char *name = ptrace_dbg_reg_name(index);
    return name ? std::string_view(name) : std::string_view();
}
// The index of register `name` ("rip", "fs_base"); nullopt if there is none.
inline std::optional<std::size_t> reg_index(const std::string &name) noexcept {
    std::size_t index = 0;
    if (ptrace_dbg_reg_index(name.c_str(), &index) != PTRACE_DBG_OK) return std::nullopt;
    return index;
}

// ---------------------------------------------------------------------------------------
// The process.

// Owns one traced process handle. Each method is the C function of the same name (see
// ptrace_dbg.h for when it may be called and what it returns); the throwing form throws
// ptrace_dbg::error, the std::error_code& form is noexcept. An empty process (default
// constructed or moved from) makes every call fail with errc::invalid_handle.
class process {
public:
    process() noexcept = default;
    // Takes ownership of a handle from the C API (nullptr makes an empty process).
    explicit process(ptrace_dbg_process *handle) noexcept : handle_(handle) {}
    ~process() { ptrace_dbg_process_free(handle_); }

    process(process &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    process &operator=(process &&other) noexcept {
        if (this != &other) reset(std::exchange(other.handle_, nullptr));
        return *this;
    }
    process(const process &) = delete;
    process &operator=(const process &) = delete;

    // Forks and execs `path` traced (argv[0] first; empty argv means {path}); env nullopt
    // inherits the host's environment. Returns with the process stopped at its first
    // instruction (cause exec).
    static process launch(const std::string &path, const std::vector<std::string> &argv = {},
                          const std::optional<std::vector<std::string>> &env = std::nullopt,
                          const launch_options &options = {}) {
        std::error_code ec;
        process p = launch(path, argv, env, options, ec);
        if (ec) {
            // The noexcept form reports an allocation failure as not_enough_memory.
            if (ec.category() != category()) throw std::bad_alloc();
            throw error(ec.value(), "ptrace_dbg_launch", ptrace_dbg_last_error());
        }
        return p;
    }
    static process launch(const std::string &path, const std::vector<std::string> &argv,
                          const std::optional<std::vector<std::string>> &env,
                          const launch_options &options, std::error_code &ec) noexcept {
        try {
            auto c_argv = detail::c_strings(argv);
            std::vector<const char *> c_env;
            if (env) c_env = detail::c_strings(*env);
            ptrace_dbg_launch_options opts;
            ptrace_dbg_launch_options_init(&opts);
            opts.cwd = options.cwd ? options.cwd->c_str() : nullptr;
            opts.stdin_fd = options.stdin_fd;
            opts.stdout_fd = options.stdout_fd;
            opts.stderr_fd = options.stderr_fd;
            opts.flags = options.flags;
            ptrace_dbg_process *handle = nullptr;
            int rc = ptrace_dbg_launch(path.c_str(), argv.empty() ? nullptr : c_argv.data(),
                                       env ? c_env.data() : nullptr, &opts, &handle);
            detail::set(rc, ec);
            return process(handle);
        } catch (const std::bad_alloc &) {
            ec = std::make_error_code(std::errc::not_enough_memory);
            return process();
        }
    }

    // Attaches to every thread of pid; returns with all of them stopped.
    static process attach(int32_t pid) {
        ptrace_dbg_process *handle = nullptr;
        detail::check(ptrace_dbg_attach(pid, &handle), "ptrace_dbg_attach");
        return process(handle);
    }
    static process attach(int32_t pid, std::error_code &ec) noexcept {
        ptrace_dbg_process *handle = nullptr;
        detail::set(ptrace_dbg_attach(pid, &handle), ec);
        return process(handle);
    }

    // The C handle, still owned by this object (for C functions the wrapper lacks).
    ptrace_dbg_process *get() const noexcept { return handle_; }
    // Gives up ownership: the caller frees the handle.
    ptrace_dbg_process *release() noexcept { return std::exchange(handle_, nullptr); }
    // Frees the current handle (if any) and owns `handle` instead.
    void reset(ptrace_dbg_process *handle = nullptr) noexcept {
        ptrace_dbg_process_free(std::exchange(handle_, handle));
    }
    explicit operator bool() const noexcept { return handle_ != nullptr; }
    friend void swap(process &a, process &b) noexcept { std::swap(a.handle_, b.handle_); }

    // --- identity and lifetime

    int32_t pid() const {
        int32_t pid = 0;
        detail::check(ptrace_dbg_pid(handle_, &pid), "ptrace_dbg_pid");
        return pid;
    }
    int32_t pid(std::error_code &ec) const noexcept {
        int32_t pid = 0;
        detail::set(ptrace_dbg_pid(handle_, &pid), ec);
        return pid;
    }

    // nullopt while the process has not exited (or was detached).
    std::optional<exit_info> exit_status() const {
        exit_info info;
        int rc = ptrace_dbg_exit_status(handle_, &info.code, &info.signal);
        if (rc == PTRACE_DBG_E_BAD_STATE) return std::nullopt;
        detail::check(rc, "ptrace_dbg_exit_status");
        return info;
    }
    std::optional<exit_info> exit_status(std::error_code &ec) const noexcept {
        exit_info info;
        int rc = ptrace_dbg_exit_status(handle_, &info.code, &info.signal);
        if (rc == PTRACE_DBG_E_BAD_STATE) {
            ec.clear();
            return std::nullopt;
        }
        if (!detail::set(rc, ec)) return std::nullopt;
        return info;
    }

    void detach() { detail::check(ptrace_dbg_detach(handle_), "ptrace_dbg_detach"); }
    void detach(std::error_code &ec) noexcept { detail::set(ptrace_dbg_detach(handle_), ec); }

    void kill() { detail::check(ptrace_dbg_kill(handle_), "ptrace_dbg_kill"); }
    void kill(std::error_code &ec) noexcept { detail::set(ptrace_dbg_kill(handle_), ec); }

    // --- run control

    void stop() { detail::check(ptrace_dbg_stop(handle_), "ptrace_dbg_stop"); }
    void stop(std::error_code &ec) noexcept { detail::set(ptrace_dbg_stop(handle_), ec); }

    // ptrace_dbg_continue (continue is a keyword).
    void cont() { detail::check(ptrace_dbg_continue(handle_), "ptrace_dbg_continue"); }
    void cont(std::error_code &ec) noexcept { detail::set(ptrace_dbg_continue(handle_), ec); }

    // Waits until the process is stopped and returns the trigger thread (0 when stopped on
    // request); std::nullopt when `timeout` passes first (nullopt timeout: wait forever,
    // 0 ms: poll). errc::exited once no thread is left.
    std::optional<int32_t> wait_stop(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        int32_t trigger = 0;
        int rc = ptrace_dbg_wait_stop(handle_, detail::timeout_ms(timeout), &trigger);
        if (rc == PTRACE_DBG_E_TIMEOUT) return std::nullopt;
        detail::check(rc, "ptrace_dbg_wait_stop");
        return trigger;
    }
    // As above; a timeout returns std::nullopt with ec cleared.
    std::optional<int32_t> wait_stop(std::optional<std::chrono::milliseconds> timeout,
                                     std::error_code &ec) noexcept {
        int32_t trigger = 0;
        int rc = ptrace_dbg_wait_stop(handle_, detail::timeout_ms(timeout), &trigger);
        if (rc == PTRACE_DBG_E_TIMEOUT) {
            ec.clear();
            return std::nullopt;
        }
        if (!detail::set(rc, ec)) return std::nullopt;
        return trigger;
    }

    // The descriptor that polls readable while wait_stop would not block (owned by the
    // library: never close it).
    int event_fd() const {
        int32_t fd = -1;
        detail::check(ptrace_dbg_event_fd(handle_, &fd), "ptrace_dbg_event_fd");
        return fd;
    }
    int event_fd(std::error_code &ec) const noexcept {
        int32_t fd = -1;
        detail::set(ptrace_dbg_event_fd(handle_, &fd), ec);
        return fd;
    }

    void step(int32_t tid) { detail::check(ptrace_dbg_step(handle_, tid), "ptrace_dbg_step"); }
    void step(int32_t tid, std::error_code &ec) noexcept {
        detail::set(ptrace_dbg_step(handle_, tid), ec);
    }

    // --- threads

    // The live threads, main thread first while it lives.
    std::vector<int32_t> threads() const {
        std::vector<int32_t> tids;
        for (;;) {
            std::size_t count = 0;
            int rc = ptrace_dbg_threads(handle_, tids.data(), tids.size(), &count);
            if (rc == PTRACE_DBG_OK) {
                tids.resize(count);
                return tids;
            }
            if (rc != PTRACE_DBG_E_BUFFER_TOO_SMALL) detail::check(rc, "ptrace_dbg_threads");
            tids.resize(count + 8);  // threads come and go while it runs: some slack
        }
    }

    thread_state state(int32_t tid) const {
        int32_t state = 0;
        detail::check(ptrace_dbg_thread_state(handle_, tid, &state), "ptrace_dbg_thread_state");
        return static_cast<thread_state>(state);
    }
    thread_state state(int32_t tid, std::error_code &ec) const noexcept {
        int32_t state = 0;
        detail::set(ptrace_dbg_thread_state(handle_, tid, &state), ec);
        return static_cast<thread_state>(state);
    }

    ptrace_dbg::cause stop_cause(int32_t tid) const {
        ptrace_dbg_cause c{};
        detail::check(ptrace_dbg_stop_cause(handle_, tid, &c), "ptrace_dbg_stop_cause");
        return ptrace_dbg::cause::from_c(c);
    }
    ptrace_dbg::cause stop_cause(int32_t tid, std::error_code &ec) const noexcept {
        ptrace_dbg_cause c{};
        detail::set(ptrace_dbg_stop_cause(handle_, tid, &c), ec);
        return ptrace_dbg::cause::from_c(c);
    }

    // --- following children

    // PTRACE_DBG_FOLLOW_FORK: stop with cause_kind::fork at every new process;
    // PTRACE_DBG_FOLLOW_LIBRARIES: with cause_kind::library when the objects change.
    void set_follow(uint32_t flags) {
        detail::check(ptrace_dbg_set_follow(handle_, flags), "ptrace_dbg_set_follow");
    }
    void set_follow(uint32_t flags, std::error_code &ec) noexcept {
        detail::set(ptrace_dbg_set_follow(handle_, flags), ec);
    }

    // The child offered at this stop (cause_kind::fork, new_tid == pid) as a process of its
    // own, stopped at its first instruction after the fork.
    process take_child(int32_t pid) {
        ptrace_dbg_process *handle = nullptr;
        detail::check(ptrace_dbg_take_child(handle_, pid, &handle), "ptrace_dbg_take_child");
        return process(handle);
    }
    process take_child(int32_t pid, std::error_code &ec) noexcept {
        ptrace_dbg_process *handle = nullptr;
        detail::set(ptrace_dbg_take_child(handle_, pid, &handle), ec);
        return process(handle);
    }

    // --- system calls

    // Stops at the entry and/or exit (flags PTRACE_DBG_SYSCALL_ENTRY | _EXIT, optionally
    // | _SECCOMP) of the calls in `numbers`, every thread; flags 0 turns it off.
    void trace_syscalls(const std::vector<int32_t> &numbers, uint32_t flags) {
        detail::check(ptrace_dbg_trace_syscalls(handle_, numbers.data(), numbers.size(), flags),
                      "ptrace_dbg_trace_syscalls");
    }
    void trace_syscalls(const std::vector<int32_t> &numbers, uint32_t flags,
                        std::error_code &ec) noexcept {
        detail::set(ptrace_dbg_trace_syscalls(handle_, numbers.data(), numbers.size(), flags), ec);
    }
    // Every call.
    void trace_all_syscalls(uint32_t flags) {
        detail::check(ptrace_dbg_trace_syscalls(handle_, nullptr, 0, flags),
                      "ptrace_dbg_trace_syscalls");
    }
    syscall_info_t syscall_info(int32_t tid) const {
        syscall_info_t s{};
        detail::check(ptrace_dbg_syscall_info(handle_, tid, &s), "ptrace_dbg_syscall_info");
        return s;
    }
    syscall_info_t syscall_info(int32_t tid, std::error_code &ec) const noexcept {
        syscall_info_t s{};
        detail::set(ptrace_dbg_syscall_info(handle_, tid, &s), ec);
        return s;
    }
    // At an entry stop: the number (-1 skips the call), the arguments kept.
    void set_syscall(int32_t tid, int32_t number) {
        detail::check(ptrace_dbg_set_syscall(handle_, tid, number, nullptr),
                      "ptrace_dbg_set_syscall");
    }
    // At an entry stop: the number and the six arguments.
    void set_syscall(int32_t tid, int32_t number, const uint64_t (&args)[6]) {
        detail::check(ptrace_dbg_set_syscall(handle_, tid, number, args),
                      "ptrace_dbg_set_syscall");
    }
    // At an exit stop (or the entry of a skipped call): the result the program sees.
    void set_syscall_return(int32_t tid, int64_t ret) {
        detail::check(ptrace_dbg_set_syscall_return(handle_, tid, ret),
                      "ptrace_dbg_set_syscall_return");
    }
    void set_syscall_return(int32_t tid, int64_t ret, std::error_code &ec) noexcept {
        detail::set(ptrace_dbg_set_syscall_return(handle_, tid, ret), ec);
    }

    // --- tracepoints, records, breakpoint decisions, range stepping (issue 18)

    // A tracepoint at `addr`: each hit is recorded by the library and the thread goes on.
    int32_t add_tracepoint(uint64_t addr) {
        int32_t id = 0;
        detail::check(ptrace_dbg_add_tracepoint(handle_, addr, 0, &id),
                      "ptrace_dbg_add_tracepoint");
        return id;
    }
    void remove_tracepoint(int32_t id) {
        detail::check(ptrace_dbg_remove_tracepoint(handle_, id), "ptrace_dbg_remove_tracepoint");
    }
    // Each hit of `id` also captures `len` bytes at register `reg_index` + `offset`.
    void tracepoint_capture(int32_t id, size_t reg_index, int64_t offset, size_t len) {
        detail::check(ptrace_dbg_tracepoint_capture(handle_, id, reg_index, offset, len),
                      "ptrace_dbg_tracepoint_capture");
    }
    // Up to `cap` records, oldest first; never blocks.
    std::vector<ptrace_dbg_record> read_records(size_t cap = 4096) {
        std::vector<ptrace_dbg_record> out(cap);
        size_t n = 0;
        detail::check(ptrace_dbg_read_records(handle_, out.data(), cap, &n),
                      "ptrace_dbg_read_records");
        out.resize(n);
        return out;
    }
    void set_record_capacity(size_t capacity) {
        detail::check(ptrace_dbg_set_record_capacity(handle_, capacity),
                      "ptrace_dbg_set_record_capacity");
    }
    ptrace_dbg_record_stats record_stats() const {
        ptrace_dbg_record_stats st{};
        detail::check(ptrace_dbg_get_record_stats(handle_, &st), "ptrace_dbg_get_record_stats");
        return st;
    }
    // op: PTRACE_DBG_COND_*; PTRACE_DBG_COND_NONE clears the condition.
    void set_breakpoint_condition(uint64_t pc, size_t reg_index, int op, uint64_t value) {
        detail::check(ptrace_dbg_set_breakpoint_condition(handle_, pc, reg_index, op, value),
                      "ptrace_dbg_set_breakpoint_condition");
    }
    void set_breakpoint_ignore_count(uint64_t pc, uint64_t count) {
        detail::check(ptrace_dbg_set_breakpoint_ignore_count(handle_, pc, count),
                      "ptrace_dbg_set_breakpoint_ignore_count");
    }
    // Steps `tid` while its pc is in [start, end); returns the instructions executed.
    uint64_t step_range(int32_t tid, uint64_t start, uint64_t end) {
        uint64_t steps = 0;
        detail::check(ptrace_dbg_step_range(handle_, tid, start, end, &steps),
                      "ptrace_dbg_step_range");
        return steps;
    }
    uint64_t step_n(int32_t tid, uint64_t n) {
        uint64_t steps = 0;
        detail::check(ptrace_dbg_step_n(handle_, tid, n, &steps), "ptrace_dbg_step_n");
        return steps;
    }

    // --- breakpoints

    void add_breakpoint(uint64_t pc) {
        detail::check(ptrace_dbg_add_breakpoint(handle_, pc), "ptrace_dbg_add_breakpoint");
    }
    void add_breakpoint(uint64_t pc, std::error_code &ec) noexcept {
        detail::set(ptrace_dbg_add_breakpoint(handle_, pc), ec);
    }
    void remove_breakpoint(uint64_t pc) {
        detail::check(ptrace_dbg_remove_breakpoint(handle_, pc), "ptrace_dbg_remove_breakpoint");
    }
    void remove_breakpoint(uint64_t pc, std::error_code &ec) noexcept {
        detail::set(ptrace_dbg_remove_breakpoint(handle_, pc), ec);
    }

    // --- maps, symbols, libraries, breakpoints by name

    // The memory mappings, as /proc/PID/maps shows them now.
    std::vector<mapping> maps() const {
        std::vector<ptrace_dbg_mapping> raw;
        std::size_t count = 0;
        for (;;) {
            int rc = ptrace_dbg_maps(handle_, raw.data(), raw.size(), &count);
            if (rc == PTRACE_DBG_OK) break;
            if (rc != PTRACE_DBG_E_BUFFER_TOO_SMALL) detail::check(rc, "ptrace_dbg_maps");
            raw.resize(count + 16);
        }
        std::vector<mapping> out;
        for (std::size_t i = 0; i < count; i++)
            out.push_back({raw[i], path_of(ptrace_dbg_mapping_path, i, "ptrace_dbg_mapping_path")});
        return out;
    }

    // The loaded objects in load order (the dynamic loader's list).
    std::vector<library> libraries() const {
        std::vector<ptrace_dbg_library> raw;
        std::size_t count = 0;
        for (;;) {
            int rc = ptrace_dbg_libraries(handle_, raw.data(), raw.size(), &count);
            if (rc == PTRACE_DBG_OK) break;
            if (rc != PTRACE_DBG_E_BUFFER_TOO_SMALL) detail::check(rc, "ptrace_dbg_libraries");
            raw.resize(count + 8);
        }
        std::vector<library> out;
        for (std::size_t i = 0; i < count; i++)
            out.push_back({raw[i], path_of(ptrace_dbg_library_path, i, "ptrace_dbg_library_path")});
        return out;
    }

    // The address of `name` in `lib` (a path or file name), or with lib empty in the program
    // and then each library in load order; throws errc::not_found.
    uint64_t symbol_address(const std::string &name, const std::string &lib = {}) const {
        uint64_t addr = 0;
        detail::check(ptrace_dbg_symbol_address(handle_, lib.empty() ? nullptr : lib.c_str(),
                                                name.c_str(), &addr),
                      "ptrace_dbg_symbol_address");
        return addr;
    }

    // The symbol containing `addr`; throws errc::not_found.
    ptrace_dbg::symbol address_symbol(uint64_t addr) const {
        std::string name(256, '\0'), path(4096, '\0');
        uint64_t off = 0;
        int rc;
        while ((rc = ptrace_dbg_address_symbol(handle_, addr, name.data(), name.size(), &off,
                                               path.data(), path.size())) ==
                   PTRACE_DBG_E_BUFFER_TOO_SMALL &&
               name.size() < (1u << 20))
            name.resize(name.size() * 4), path.resize(path.size() * 4);
        detail::check(rc, "ptrace_dbg_address_symbol");
        name.resize(name.find('\0'));
        path.resize(path.find('\0'));
        return {name, off, path};
    }

    // A breakpoint on function `name` (in `lib`, or anywhere with lib empty), now and in every
    // object that defines it when loaded later; returns its id.
    int32_t add_symbol_breakpoint(const std::string &name, const std::string &lib = {}) {
        int32_t id = 0;
        detail::check(ptrace_dbg_add_symbol_breakpoint(
                          handle_, lib.empty() ? nullptr : lib.c_str(), name.c_str(), &id),
                      "ptrace_dbg_add_symbol_breakpoint");
        return id;
    }
    void remove_symbol_breakpoint(int32_t id) {
        detail::check(ptrace_dbg_remove_symbol_breakpoint(handle_, id),
                      "ptrace_dbg_remove_symbol_breakpoint");
    }

    // --- watchpoints (x86-64 debug registers: four at a time, errc::no_resource beyond)

    // Every thread, present and future; len 1, 2, 4 or 8 with addr aligned to it. Returns the
    // id. A hit stops the process with cause_kind::watchpoint.
    int32_t add_watchpoint(uint64_t addr, std::size_t len, watch_kind kind) {
        int32_t id = 0;
        detail::check(ptrace_dbg_add_watchpoint(handle_, addr, len, static_cast<int32_t>(kind), &id),
                      "ptrace_dbg_add_watchpoint");
        return id;
    }
    int32_t add_watchpoint(uint64_t addr, std::size_t len, watch_kind kind,
                           std::error_code &ec) noexcept {
        int32_t id = 0;
        detail::set(ptrace_dbg_add_watchpoint(handle_, addr, len, static_cast<int32_t>(kind), &id),
                    ec);
        return id;
    }
    void remove_watchpoint(int32_t id) {
        detail::check(ptrace_dbg_remove_watchpoint(handle_, id), "ptrace_dbg_remove_watchpoint");
    }
    void remove_watchpoint(int32_t id, std::error_code &ec) noexcept {
        detail::set(ptrace_dbg_remove_watchpoint(handle_, id), ec);
    }
    // The watchpoint thread `tid` tripped at this stop; nullopt when its stop is not a
    // watchpoint hit.
    std::optional<watch_hit> watchpoint_hit(int32_t tid) const {
        watch_hit hit;
        int rc = ptrace_dbg_watchpoint_hit(handle_, tid, &hit.id, &hit.addr);
        if (rc == PTRACE_DBG_E_NO_BREAKPOINT) return std::nullopt;
        detail::check(rc, "ptrace_dbg_watchpoint_hit");
        return hit;
    }

    // --- registers

    registers regs(int32_t tid) const {
        registers r{};
        detail::check(ptrace_dbg_get_regs(handle_, tid, &r), "ptrace_dbg_get_regs");
        return r;
    }
    registers regs(int32_t tid, std::error_code &ec) const noexcept {
        registers r{};
        detail::set(ptrace_dbg_get_regs(handle_, tid, &r), ec);
        return r;
    }
    void set_regs(int32_t tid, const registers &r) {
        detail::check(ptrace_dbg_set_regs(handle_, tid, &r), "ptrace_dbg_set_regs");
    }
    void set_regs(int32_t tid, const registers &r, std::error_code &ec) noexcept {
        detail::set(ptrace_dbg_set_regs(handle_, tid, &r), ec);
    }

    // One register by index (see reg_index / reg_name).
    uint64_t reg(int32_t tid, std::size_t index) const {
        uint64_t value = 0;
        detail::check(ptrace_dbg_get_reg(handle_, tid, index, &value), "ptrace_dbg_get_reg");
        return value;
    }
    void set_reg(int32_t tid, std::size_t index, uint64_t value) {
        detail::check(ptrace_dbg_set_reg(handle_, tid, index, value), "ptrace_dbg_set_reg");
    }

    // --- registers beyond the general ones: by name, x87/SSE struct, raw XSAVE area

    // The registers this CPU and kernel have, (name, size in bytes), in the library's order.
    std::vector<std::pair<std::string, std::size_t>> register_names() const {
        std::vector<std::pair<std::string, std::size_t>> out;
        std::size_t count = ptrace_dbg_register_count(handle_);
        for (std::size_t i = 0; i < count; i++) {
            const char *name = nullptr;
            std::size_t size = 0;
            detail::check(ptrace_dbg_register_info(handle_, i, &name, &size),
                          "ptrace_dbg_register_info");
            out.emplace_back(name, size);
        }
        return out;
    }

    // Register `name` ("xmm0", "ymm3", "zmm31", "st0", "k1", "mxcsr", "rip", ...) as
    // little-endian bytes of its size. errc::invalid_argument for an unknown name,
    // errc::not_supported for one this CPU lacks.
    std::vector<unsigned char> read_register(int32_t tid, const std::string &name) const {
        std::vector<unsigned char> buf(64);
        std::size_t size = 0;
        detail::check(
            ptrace_dbg_read_register(handle_, tid, name.c_str(), buf.data(), buf.size(), &size),
            "ptrace_dbg_read_register");
        buf.resize(size);
        return buf;
    }
    std::vector<unsigned char> read_register(int32_t tid, const std::string &name,
                                         std::error_code &ec) const {
        std::vector<unsigned char> buf(64);
        std::size_t size = 0;
        detail::set(
            ptrace_dbg_read_register(handle_, tid, name.c_str(), buf.data(), buf.size(), &size),
            ec);
        buf.resize(ec ? 0 : size);
        return buf;
    }
    // Writes register `name` from exactly its size of bytes (a std::vector, std::array, ...).
    void write_register(int32_t tid, const std::string &name, const_bytes data) {
        detail::check(ptrace_dbg_write_register(handle_, tid, name.c_str(), data.data(),
                                                data.size()),
                      "ptrace_dbg_write_register");
    }
    void write_register(int32_t tid, const std::string &name, const_bytes data,
                        std::error_code &ec) noexcept {
        detail::set(
            ptrace_dbg_write_register(handle_, tid, name.c_str(), data.data(), data.size()), ec);
    }

    ptrace_dbg::fpregs fpregs(int32_t tid) const {
        ptrace_dbg::fpregs r{};
        detail::check(ptrace_dbg_get_fpregs(handle_, tid, &r), "ptrace_dbg_get_fpregs");
        return r;
    }
    void set_fpregs(int32_t tid, const ptrace_dbg::fpregs &r) {
        detail::check(ptrace_dbg_set_fpregs(handle_, tid, &r), "ptrace_dbg_set_fpregs");
    }

    // The whole XSAVE area, the kernel's size: save it, restore it with set_xstate.
    std::vector<unsigned char> xstate(int32_t tid) const {
        std::size_t len = 0;
        int rc = ptrace_dbg_get_xstate(handle_, tid, nullptr, 0, &len);
        if (rc != PTRACE_DBG_E_BUFFER_TOO_SMALL) detail::check(rc, "ptrace_dbg_get_xstate");
        std::vector<unsigned char> buf(len);
        detail::check(ptrace_dbg_get_xstate(handle_, tid, buf.data(), buf.size(), &len),
                      "ptrace_dbg_get_xstate");
        return buf;
    }
    void set_xstate(int32_t tid, const_bytes area) {
        detail::check(ptrace_dbg_set_xstate(handle_, tid, area.data(), area.size()),
                      "ptrace_dbg_set_xstate");
    }

    uint64_t pc(int32_t tid) const {
        uint64_t pc = 0;
        detail::check(ptrace_dbg_get_pc(handle_, tid, &pc), "ptrace_dbg_get_pc");
        return pc;
    }
    uint64_t pc(int32_t tid, std::error_code &ec) const noexcept {
        uint64_t pc = 0;
        detail::set(ptrace_dbg_get_pc(handle_, tid, &pc), ec);
        return pc;
    }
    void set_pc(int32_t tid, uint64_t pc) {
        detail::check(ptrace_dbg_set_pc(handle_, tid, pc), "ptrace_dbg_set_pc");
    }
    void set_pc(int32_t tid, uint64_t pc, std::error_code &ec) noexcept {
        detail::set(ptrace_dbg_set_pc(handle_, tid, pc), ec);
    }

    uint64_t sp(int32_t tid) const {
        uint64_t sp = 0;
        detail::check(ptrace_dbg_get_sp(handle_, tid, &sp), "ptrace_dbg_get_sp");
        return sp;
    }
    void set_sp(int32_t tid, uint64_t sp) {
        detail::check(ptrace_dbg_set_sp(handle_, tid, sp), "ptrace_dbg_set_sp");
    }

    // --- memory

    // Reads buf.size() bytes at addr through stopped thread tid; returns the bytes read
    // (all of them: a shorter read throws, with the count in error::bytes_done()).
    std::size_t peek(int32_t tid, uint64_t addr, mutable_bytes buf) const {
        std::size_t done = 0;
        int rc = ptrace_dbg_peek(handle_, tid, addr, buf.data(), buf.size(), &done);
        detail::check(rc, "ptrace_dbg_peek", done);
        return done;
    }
    // As above, but a failure sets ec and still returns the bytes read before it (e.g. up to
    // unmapped memory, with errc::fault).
    std::size_t peek(int32_t tid, uint64_t addr, mutable_bytes buf, std::error_code &ec) const noexcept {
        std::size_t done = 0;
        detail::set(ptrace_dbg_peek(handle_, tid, addr, buf.data(), buf.size(), &done), ec);
        return done;
    }
    // len bytes at addr, as a new vector.
    std::vector<unsigned char> peek(int32_t tid, uint64_t addr, std::size_t len) const {
        std::vector<unsigned char> bytes(len);
        peek(tid, addr, mutable_bytes(bytes));
        return bytes;
    }

    // Writes data at addr through stopped thread tid (read-only text too); returns the bytes
    // written, all of them, as peek.
    std::size_t poke(int32_t tid, uint64_t addr, const_bytes data) {
        std::size_t done = 0;
        int rc = ptrace_dbg_poke(handle_, tid, addr, data.data(), data.size(), &done);
        detail::check(rc, "ptrace_dbg_poke", done);
        return done;
    }
    std::size_t poke(int32_t tid, uint64_t addr, const_bytes data, std::error_code &ec) noexcept {
        std::size_t done = 0;
        detail::set(ptrace_dbg_poke(handle_, tid, addr, data.data(), data.size(), &done), ec);
        return done;
    }

private:
    // A path from ptrace_dbg_mapping_path or ptrace_dbg_library_path.
    template <class Fn>
    std::string path_of(Fn fn, std::size_t index, const char *what) const {
        std::string buf(256, '\0');
        std::size_t len = 0;
        int rc = fn(handle_, index, buf.data(), buf.size(), &len);
        if (rc == PTRACE_DBG_E_BUFFER_TOO_SMALL) {
            buf.resize(len + 1);
            rc = fn(handle_, index, buf.data(), buf.size(), &len);
        }
        detail::check(rc, what);
        buf.resize(len);
        return buf;
    }

    ptrace_dbg_process *handle_ = nullptr;
};

}  // namespace ptrace_dbg

#endif  // PTRACE_DBG_HPP
