#!/bin/sh
# The Rust side's unsafe code, audited (issue 6, "Memory safety"):
#  1. `unsafe` appears in the library's code only under src/sys/ and src/ffi/ (comments and
#     doc text do not count; build.rs is checked too);
#  2. every unsafe block and `unsafe impl` in src/ has a `// SAFETY:` comment (or
#     `// SAFETY (qualifier):`) on its line or just above the statement that holds it (comment
#     lines, attributes and the earlier lines of the same statement may come between);
#  3. every `unsafe fn` in src/ has a `# Safety` section in its doc comment.
# Integration tests (tests/) are not the library: their unsafe blocks are listed with -v but
# never fail the audit.
# Usage: c-tests/unsafe-audit.sh [-v] [ROOT]   (ROOT: the repository, default: this script's ..)
# Exit status 1 when anything is out of place; each violation is printed as FILE:LINE: why.
set -eu
verbose=0
if [ "${1:-}" = "-v" ]; then verbose=1; shift; fi
root=${1:-$(dirname "$0")/..}
cd "$root"

# One awk pass per file (mawk: no ENDFILE). `code` is the line without its // comment (strings
# are not parsed: nothing in src/ puts "//" or "unsafe" inside a string literal on an unsafe
# line). Prints "V FILE:LINE: why" per violation, "I ..." for test code, and a last line
# "C blocks fns impls".
audit_file() {
    awk -v strict="$1" -v file="$2" '
    function code_of(s) { sub(/\/\/.*/, "", s); return s }
    function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
    # 1 if a SAFETY comment covers the statement that holds line n.
    function safety_above(n,    i, l, c) {
        if (lines[n] ~ /\/\/ *SAFETY( *\([^)]*\))?:/) return 1
        for (i = n - 1; i >= 1 && i >= n - 40; i--) {
            l = trim(lines[i])
            if (l ~ /^\/\//) { if (l ~ /SAFETY( *\([^)]*\))?:/) return 1; continue }
            if (l ~ /^#\[/) continue
            if (l == "") return 0
            c = trim(code_of(l))
            if (c ~ /[;{}]$/) return 0
        }
        return 0
    }
    # 1 if the doc comment above the fn at line n has a "# Safety" heading.
    function safety_doc(n,    i, l) {
        for (i = n - 1; i >= 1; i--) {
            l = trim(lines[i])
            if (l ~ /^\/\/\/ *# Safety/) return 1
            if (l ~ /^\/\// || l ~ /^#\[/) continue
            return 0
        }
        return 0
    }
    { lines[NR] = $0 }
    END {
        nb = nf = ni = 0
        for (n = 1; n <= NR; n++) {
            c = code_of(lines[n])
            if (c !~ /(^|[^A-Za-z0-9_])unsafe([^A-Za-z0-9_]|$)/) continue
            what = "block"
            if (c ~ /unsafe[ \t]+(extern[ \t]+"[^"]*"[ \t]+)?fn[ \t]/) what = "fn"
            else if (c ~ /unsafe[ \t]+impl/) what = "impl"
            else if (c ~ /unsafe[ \t]+trait/) what = "trait"
            if (what == "block") nb++; else if (what == "impl") ni++; else nf++
            where = file ":" n
            if (strict && file !~ /^src\/(sys|ffi)\//)
                print "V " where ": unsafe outside src/sys and src/ffi: " trim(lines[n])
            if (what == "fn" || what == "trait") {
                ok = safety_doc(n); why = "unsafe " what " without a # Safety doc section"
            } else {
                ok = safety_above(n); why = "unsafe " what " without a // SAFETY: comment"
            }
            if (!ok) print (strict ? "V " : "I ") where ": " why ": " trim(lines[n])
        }
        print "C " nb " " nf " " ni
    }' "$2"
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for f in $(find src -name '*.rs' | sort) $( [ -f build.rs ] && echo build.rs ); do
    audit_file 1 "$f"
done > "$tmp"
blocks=$(awk '$1 == "C" { s += $2 } END { print s + 0 }' "$tmp")
fns=$(awk '$1 == "C" { s += $3 } END { print s + 0 }' "$tmp")
impls=$(awk '$1 == "C" { s += $4 } END { print s + 0 }' "$tmp")
violations=$(grep -c '^V ' "$tmp" || true)
grep '^V ' "$tmp" | cut -c3- || true
if [ "$verbose" = 1 ] && [ -d tests ]; then
    echo "tests/ (informational, not counted):"
    for f in $(find tests -name '*.rs' | sort); do
        audit_file 0 "$f"
    done | grep '^I ' | cut -c3- || true
fi
summary="src/: $blocks unsafe blocks, $fns unsafe fns, $impls unsafe impls"
if [ "$violations" = 0 ]; then
    echo "unsafe-audit: ok: $summary, all under src/sys or src/ffi and documented"
else
    echo "unsafe-audit: FAILED: $violations violations ($summary)"
    exit 1
fi
