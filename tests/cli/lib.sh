# Shared harness of the CLI test scripts (sourced): $py, a scratch folder $tmp removed on
# exit, the counters n (checks run) and fails, and the expect / check / report helpers.
# shellcheck shell=sh
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
n=0

# expect CODE DESCRIPTION -- COMMAND...: runs the command, checks its exit status.
expect() {
    want=$1 what=$2
    shift 3
    n=$((n + 1))
    "$@" > "$tmp/stdout" 2> "$tmp/stderr"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, wanted $want: $*"
        sed 's/^/    stderr: /' "$tmp/stderr" | head -5
        fails=$((fails + 1))
        return 1
    fi
    if [ "$want" -eq 1 ] && ! grep -q '^ember: error: ' "$tmp/stderr"; then
        echo "FAIL: $what: no 'ember: error:' message on stderr: $*"
        fails=$((fails + 1))
        return 1
    fi
    return 0
}

# check DESCRIPTION -- COMMAND...: a test written as a shell condition.
check() {
    what=$1
    shift 2
    n=$((n + 1))
    if ! "$@"; then
        echo "FAIL: $what"
        fails=$((fails + 1))
    fi
}

# report WHAT: prints the tally; its status (the script's last command) is 0 iff all passed.
report() {
    echo "$((n - fails)) of $n $1 checks passed"
    [ "$fails" -eq 0 ]
}
