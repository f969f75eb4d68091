/* See tracee_util.h. */
#define _GNU_SOURCE
#include "tracee_util.h"

#include "runner.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *tracee_path(void) {
    static char path[PATH_MAX];
    if (path[0]) return path;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) runner_fail(__FILE__, __LINE__, "readlink /proc/self/exe: %s", strerror(errno));
    self[n] = '\0';
    char *slash = strrchr(self, '/'); /* build/c-tests/ptrace_dbg_tests -> build/c-tests */
    if (slash) *slash = '\0';
    slash = strrchr(self, '/'); /* -> build */
    if (slash) *slash = '\0';
    if (strlen(self) + sizeof "/tracees/tracee" > sizeof path)
        runner_fail(__FILE__, __LINE__, "path too long: %s", self);
    memcpy(path, self, strlen(self));
    strcpy(path + strlen(self), "/tracees/tracee");
    if (access(path, X_OK) != 0) runner_fail(__FILE__, __LINE__, "no tracee at %s", path);
    return path;
}

static size_t build_argv(const char **argv, size_t cap, const char *const *args) {
    size_t n = 0;
    argv[n++] = tracee_path();
    for (; args && args[n - 1] && n < cap - 1; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    return n;
}

pid_t spawn_tracee(int *out_fd, const char *const *args) {
    const char *argv[32];
    build_argv(argv, 32, args);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) runner_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) runner_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    *out_fd = fds[0];
    return pid;
}

int read_line(int fd, char *buf, size_t size, int timeout_ms) {
    long long deadline = now_ms() + timeout_ms;
    size_t len = 0;
    while (len + 1 < size) {
        long long left = deadline - now_ms();
        if (left < 0) left = 0;
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n <= 0) break;
        if (c == '\n') {
            buf[len] = '\0';
            return 1;
        }
        buf[len++] = c;
    }
    buf[len] = '\0';
    return 0;
}

void kill_child(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

ptrace_dbg_process *launch_tracee(int *out_fd, const char *const *args) {
    const char *argv[32];
    build_argv(argv, 32, args);
    int fds[2] = {-1, -1};
    ptrace_dbg_launch_options opts;
    ptrace_dbg_launch_options_init(&opts);
    if (out_fd) {
        if (pipe2(fds, O_CLOEXEC) != 0)
            runner_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
    } else { /* keep the runner's output clean */
        fds[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
    }
    opts.stdout_fd = fds[1];
    ptrace_dbg_process *p = NULL;
    int rc = ptrace_dbg_launch(argv[0], argv, NULL, &opts, &p);
    close(fds[1]);
    if (out_fd) *out_fd = fds[0];
    if (rc != PTRACE_DBG_OK)
        runner_fail(__FILE__, __LINE__, "launch %s %s: %s: %s", argv[0], argv[1] ? argv[1] : "",
                    ptrace_dbg_strerror(rc), ptrace_dbg_last_error());
    return p;
}

int continue_and_wait(ptrace_dbg_process *p, int timeout_ms, int32_t *trigger) {
    int rc = ptrace_dbg_continue(p);
    if (rc != PTRACE_DBG_OK) return rc;
    return ptrace_dbg_wait_stop(p, timeout_ms, trigger);
}

char task_state(pid_t pid, pid_t tid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

long tracer_pid(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long tracer = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "TracerPid: %ld", &tracer) == 1) break;
    fclose(f);
    return tracer;
}

size_t list_tasks(pid_t pid, pid_t *tids, size_t cap) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n < cap) tids[n] = (pid_t)atoi(e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

int count_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

int wait_gone(pid_t pid, int timeout_ms) {
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return errno == ESRCH; /* already reaped */
    struct pollfd pfd = {fd, POLLIN, 0};
    long long deadline = now_ms() + timeout_ms;
    int r;
    do {
        long long left = deadline - now_ms();
        r = poll(&pfd, 1, left > 0 ? (int)left : 0);
    } while (r < 0 && errno == EINTR);
    close(fd);
    return r == 1;
}

/* ----- ELF64 symbols ----- */

static int read_at(int fd, void *buf, size_t len, off_t off) {
    return pread(fd, buf, len, off) == (ssize_t)len;
}

/* Finds `name` in the SHT_SYMTAB of `path`: fills *sym; also the lowest PT_LOAD vaddr. */
static int find_symbol(const char *path, const char *name, Elf64_Sym *sym, uint64_t *min_vaddr) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int found = 0;
    Elf64_Ehdr eh;
    if (!read_at(fd, &eh, sizeof eh, 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64)
        goto out;
    *min_vaddr = UINT64_MAX;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (!read_at(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)))
            goto out;
        if (ph.p_type == PT_LOAD && ph.p_vaddr < *min_vaddr) *min_vaddr = ph.p_vaddr;
    }
    *min_vaddr &= ~(uint64_t)0xfff;
    for (unsigned i = 0; i < eh.e_shnum && !found; i++) {
        Elf64_Shdr sh, strsh;
        if (!read_at(fd, &sh, sizeof sh, (off_t)(eh.e_shoff + (uint64_t)i * eh.e_shentsize)))
            goto out;
        if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(Elf64_Sym)) continue;
        if (!read_at(fd, &strsh, sizeof strsh,
                     (off_t)(eh.e_shoff + (uint64_t)sh.sh_link * eh.e_shentsize)))
            goto out;
        char *strtab = malloc(strsh.sh_size + 1);
        if (!strtab || !read_at(fd, strtab, strsh.sh_size, (off_t)strsh.sh_offset)) {
            free(strtab);
            goto out;
        }
        strtab[strsh.sh_size] = '\0';
        for (uint64_t j = 0; j < sh.sh_size / sizeof(Elf64_Sym); j++) {
            Elf64_Sym s;
            if (!read_at(fd, &s, sizeof s, (off_t)(sh.sh_offset + j * sizeof s))) break;
            if (s.st_name < strsh.sh_size && strcmp(strtab + s.st_name, name) == 0 &&
                s.st_shndx != SHN_UNDEF) {
                *sym = s;
                found = 1;
                break;
            }
        }
        free(strtab);
    }
out:
    close(fd);
    return found;
}

/* The lowest start address of a mapping of `path` in /proc/PID/maps, 0 if none. */
static uint64_t load_base(pid_t pid, const char *path) {
    char maps[64], real[PATH_MAX], line[PATH_MAX + 128];
    if (!realpath(path, real)) return 0;
    snprintf(maps, sizeof maps, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(maps, "r");
    if (!f) return 0;
    uint64_t base = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long start;
        int name_at = 0;
        if (sscanf(line, "%llx-%*x %*s %*s %*s %*s %n", &start, &name_at) < 1 || !name_at)
            continue;
        char *name = line + name_at;
        name[strcspn(name, "\n")] = '\0';
        if (strcmp(name, real) == 0 && (base == 0 || start < base)) base = start;
    }
    fclose(f);
    return base;
}

uint64_t symbol_address(pid_t pid, const char *path, const char *name) {
    Elf64_Sym sym;
    uint64_t min_vaddr = 0;
    if (!find_symbol(path, name, &sym, &min_vaddr)) return 0;
    uint64_t base = load_base(pid, path);
    if (!base) return 0;
    return base - min_vaddr + sym.st_value;
}

uint64_t symbol_size(const char *path, const char *name) {
    Elf64_Sym sym;
    uint64_t min_vaddr = 0;
    return find_symbol(path, name, &sym, &min_vaddr) ? sym.st_size : 0;
}

pid_t pid_of(ptrace_dbg_process *p) {
    int32_t pid = 0;
    CHECK_OK(ptrace_dbg_pid(p, &pid));
    return pid;
}
