// The header compiles as C++17 with every warning an error, and its items are usable.
#include "ptrace_dbg.h"

#include <cstdio>
#include <string>

int main() {
    ptrace_dbg_launch_options opts{};
    ptrace_dbg_launch_options_init(&opts);
    ptrace_dbg_regs regs{};
    ptrace_dbg_cause cause{};
    ptrace_dbg_process *process = nullptr;
    static_assert(sizeof(ptrace_dbg_regs) == 27 * sizeof(uint64_t), "user_regs_struct layout");
    std::size_t index = 0;
    if (ptrace_dbg_reg_index("rsp", &index) != PTRACE_DBG_OK) return 1;
    std::string name = ptrace_dbg_reg_name(index);
    std::string version = std::to_string(PTRACE_DBG_VERSION_MAJOR) + "." +
                          std::to_string(PTRACE_DBG_VERSION_MINOR) + "." +
                          std::to_string(PTRACE_DBG_VERSION_PATCH);
    std::printf("%s %s\n", name.c_str(), ptrace_dbg_signal_name(11));
    bool ok = name == "rsp" && version == ptrace_dbg_version() && opts.stdout_fd == -1 &&
              regs.rip == 0 && cause.pc == 0 && process == nullptr;
    return ok ? 0 : 1;
}
