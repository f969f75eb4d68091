/* A program whose symbols the tests resolve: built as a PIE, as a fixed-address program and
 * statically (tests/symbols.rs). It calls a global and a static function, uses malloc and
 * write, and exits 0. */
#include <stdlib.h>
#include <unistd.h>

int sym_counter = 5;

__attribute__((noinline)) int sym_alpha(int x) {
    return x * 3 + sym_counter;
}

__attribute__((noinline)) static int sym_beta(int x) {
    return x ^ 0x55;
}

int main(int argc, char **argv) {
    (void)argv;
    int r = sym_alpha(argc) + sym_beta(argc);
    char *p = malloc(16);
    if (write(1, "", 0) < 0) {
        return 3;
    }
    free(p);
    return r == 0 ? 1 : 0;
}
