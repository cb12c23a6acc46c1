#!/usr/bin/env bash
# A throw-away single-node Slurm cluster (munged + slurmctld + slurmd on localhost) for tests.
#   local_cluster.sh start DIR   start it with all state under DIR; prints "export SLURM_CONF=..." lines
#   local_cluster.sh stop DIR    stop the daemons started by `start DIR`
# Exit 77 (the skip code) with the reason on stderr when Slurm or munge is missing or does not come up.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

skip() {
  echo "local Slurm unavailable: $*" >&2
  for log in "$dir"/munged.log "$dir"/slurmctld.log "$dir"/slurmd.log; do
    [[ -s $log ]] && { echo "--- tail of $log" >&2; tail -n 15 "$log" >&2; }
  done
  stop_daemons
  exit 77
}

stop_daemons() {
  for pidfile in "$dir"/slurmd.pid "$dir"/slurmctld.pid "$dir"/munged.pid; do
    [[ -s $pidfile ]] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

# A port nothing listens on (random, so concurrent clusters and a system Slurm do not collide).
free_port() {
  local port
  for _ in $(seq 100); do
    port=$(( 20000 + RANDOM % 30000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  skip "no free TCP port found"
}

if [[ $cmd == stop ]]; then
  stop_daemons
  exit 0
fi
[[ $cmd == start ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

for bin in munged slurmctld slurmd sbatch squeue scontrol; do
  command -v "$bin" >/dev/null || [[ -x /usr/sbin/$bin ]] || skip "'$bin' not found (install slurm-wlm and munge: scripts/setup.sh)"
done
export PATH=$PATH:/usr/sbin
# As root, or as an ordinary user whose jobs slurmd (then also that user) can start without switching users.
user=$(id -un)

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
ctld_port=$(free_port)
slurmd_port=$(free_port)
chmod 700 "$dir"
mkdir -p "$dir/state" "$dir/spool"

# munge: own key, socket and logs, so nothing outside DIR is touched.
head -c 1024 /dev/urandom >"$dir/munge.key"
chmod 600 "$dir/munge.key"
munged --key-file="$dir/munge.key" --socket="$dir/munge.socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" --force || skip "munged did not start"

cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
cat >"$dir/slurm.conf" <<CONF
ClusterName=agegender-test
SlurmctldHost=localhost
SlurmUser=$user
SlurmdUser=$user
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf

slurmctld -f "$SLURM_CONF" -i || skip "slurmctld did not start"
slurmd -f "$SLURM_CONF" -N localhost || skip "slurmd did not start"

# Up when the node is idle and takes jobs.
for _ in $(seq 60); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true)
  if [[ $state == idle ]]; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.5
done
skip "node state is '${state:-unknown}' after 30 s"
