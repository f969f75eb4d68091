# Sourced by the shell checks: `check NAME COMMAND...` runs COMMAND and prints "ok NAME" or
# "FAIL NAME: <its output>"; `summary` prints the runner's last line, "N passed, N failed",
# and returns non-zero when anything failed.
passed=0
failed=0

check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        echo "ok $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-2000)"
        failed=$((failed + 1))
    fi
}

summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
