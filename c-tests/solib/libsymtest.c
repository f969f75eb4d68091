/* The library dlopener (c-tests/tracees/dlopener.c) loads: one function to break on. */
__attribute__((noinline)) int f(int x) {
    return x + 1;
}
