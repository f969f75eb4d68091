/* Built by install-test.sh against an installed copy: prints the file the library was loaded
 * from, then checks the loaded version against the header it was compiled with. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ptrace_dbg.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    Dl_info info;
    /* The version string is static data of the library, so it tells where the library is. */
    if (!dladdr(ptrace_dbg_version(), &info) || !info.dli_fname) return 2;
    printf("%s\n", info.dli_fname);
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", PTRACE_DBG_VERSION_MAJOR,
             PTRACE_DBG_VERSION_MINOR, PTRACE_DBG_VERSION_PATCH);
    return strcmp(ptrace_dbg_version(), expected) == 0 ? 0 : 1;
}
