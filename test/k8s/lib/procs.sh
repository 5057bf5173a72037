# Starting, checking and stopping the node's processes. Each runs in the node namespace (nsenter
# --net), in its own session (it outlives the command that started it and a test runner's process
# group), with stdio on its log file (so a caller reading our output is not held open) and without
# the cluster lock's descriptor.

proc_pidfile() { echo "$k8s_run/$1.pid"; }

proc_start() { # name argv...
  local name="$1"; shift
  mkdir -p "$k8s_run" "$k8s_logs"
  echo "--- start $(date -u +%FT%TZ): $*" >> "$k8s_logs/$name.log"
  # A background job of a non-interactive shell is no process group leader, so setsid does not
  # fork and nsenter execs: $! is the component's own pid (proc_pid checks its command line).
  setsid nsenter --net="$k8s_netns_path" -- "$@" </dev/null >>"$k8s_logs/$name.log" 2>&1 9>&- &
  echo $! > "$(proc_pidfile "$name")"
}

# A pid from our pid file that is alive and still runs the binary we started (not a reused pid).
proc_pid() {
  local f pid; f="$(proc_pidfile "$1")"
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -d "/proc/$pid" ] || return 1
  tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -- "$k8s_state\|$k8s_run\|$k8s_ns" >/dev/null || return 1
  echo "$pid"
}

proc_alive() { proc_pid "$1" >/dev/null; }

# Exited: gone, or a zombie. These sandboxes' PID 1 reaps orphans only every second or two, so
# waiting for /proc/<pid> to vanish would add that to every stop.
proc_gone() { [ ! -d "/proc/$1" ] || [ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = Z ]; }

procs_stop() { # seconds name... : SIGTERM all at once, SIGKILL what is left after the grace time
  local secs="$1" n pid i left; shift
  local pids=()
  for n in "$@"; do
    if pid="$(proc_pid "$n")"; then pids+=("$pid"); kill -TERM "$pid" 2>/dev/null || true; fi
    rm -f "$(proc_pidfile "$n")"
  done
  for ((i = 0; i < secs * 10; i++)); do
    left=0; for pid in "${pids[@]}"; do proc_gone "$pid" || left=1; done
    [ $left = 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do proc_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true; done
}

# Polls `cmd...` until it succeeds; on timeout prints what was waited for and the last log lines.
wait_for() { # what seconds log-name cmd...
  local what="$1" secs="$2" log="$3"; shift 3
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$log" ] && ! proc_alive "$log"; then
      echo "k8s cluster: $log exited while waiting for $what; last lines of $k8s_logs/$log.log:" >&2
      tail -n 20 "$k8s_logs/$log.log" >&2; return 1
    fi
    if [ "$(date +%s)" -ge $deadline ]; then
      echo "k8s cluster: timed out after ${secs}s waiting for $what" >&2
      [ -n "$log" ] && { echo "last lines of $k8s_logs/$log.log:" >&2; tail -n 20 "$k8s_logs/$log.log" >&2; }
      return 1
    fi
    sleep 0.5
  done
}

# Every process left from a pod: containerd's shims (found by our containerd socket in their
# arguments) and whatever runs in the kubelet's cgroup root. Nothing else on the host matches.
pod_pids() {
  local p
  # (2>/dev/null before <: a process may exit between the glob and the read)
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null < "$p/cmdline" | grep -- "-address $k8s_containerd_sock" >/dev/null && echo "${p#/proc/}"
  done
  find "/sys/fs/cgroup/pids$k8s_cgroup_root" -name tasks -exec cat {} + 2>/dev/null | sort -u
}
