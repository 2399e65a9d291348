# Shared by the one-go machine scripts (gpu/check/run.sh,
# benchmarks/scaling.sh), sourced from the repository root: steps with their
# own time limits, the failed ones collected in $failed, and the closing
# verdict. A step that fails does not stop the others.
failed=()
step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }
run() { # run NAME LIMIT CMD...: a step with its own time limit
    local name=$1 limit=$2
    shift 2
    step "$name"
    timeout "$limit" "$@"
    local rc=$?
    [ $rc -eq 0 ] || { echo "!! $name failed (status $rc)"; failed+=("$name"); }
}
finish() { # finish NAME: say whether every step passed, and exit with it
    echo
    if [ ${#failed[@]} -eq 0 ]; then
        echo "$1: every step passed"
        exit 0
    fi
    echo "$1: failed: ${failed[*]}"
    exit 1
}
