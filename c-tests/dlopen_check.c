/* What a dlopen user (Python ctypes, Java FFM, ...) sees: the library loads by path, every
 * function the header declares resolves, the version matches the header, and dlclose does not
 * unload it (-z nodelete: its monitor threads must never lose their code).
 *
 * This program is not linked against the library. header_functions.h is generated from the
 * header at build time (c-tests/header-functions.sh), so the list cannot go stale. */
#define _GNU_SOURCE
#include "ptrace_dbg.h"
#include "runner.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const functions[] = {
#define PTRACE_DBG_FUNCTION(name) #name,
#include "header_functions.h"
#undef PTRACE_DBG_FUNCTION
};

static const char *library_path(void) {
    const char *path = getenv("PTRACE_DBG_SO");
    return path ? path : PTRACE_DBG_SO_PATH;
}

static void *open_library(void) {
    void *lib = dlopen(library_path(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) runner_fail(__FILE__, __LINE__, "dlopen(%s): %s", library_path(), dlerror());
    return lib;
}

TEST(every_header_function_resolves) {
    void *lib = open_library();
    size_t count = sizeof functions / sizeof functions[0];
    CHECK(count >= 8); /* the foundation alone declares 8 */
    for (size_t i = 0; i < count; i++) {
        if (!dlsym(lib, functions[i]))
            runner_fail(__FILE__, __LINE__, "dlsym(%s): %s", functions[i], dlerror());
    }
}

TEST(loaded_version_matches_the_header) {
    void *lib = open_library();
    const char *(*version)(void);
    /* POSIX's way to turn dlsym's void * into a function pointer under ISO C. */
    *(void **)&version = dlsym(lib, "ptrace_dbg_version");
    CHECK(version != NULL);
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", PTRACE_DBG_VERSION_MAJOR,
             PTRACE_DBG_VERSION_MINOR, PTRACE_DBG_VERSION_PATCH);
    CHECK_STR_EQ(version(), expected);
}

TEST(dlclose_does_not_unload_it) {
    void *lib = open_library();
    CHECK_EQ_INT(dlclose(lib), 0);
    void *again = dlopen(library_path(), RTLD_NOW | RTLD_NOLOAD);
    CHECK(again != NULL);
}
