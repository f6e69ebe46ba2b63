# Sourced by the scripts: lets mpirun work as root (containers, CI) and sets the launcher
# flags for this machine: one master rank plus one worker per core. The master sleeps while
# it waits, so it does not need a core of its own; hence --oversubscribe.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
MSWEEP_RANKS="${MSWEEP_RANKS:-$(( $(nproc) + 1 ))}"
MPIRUN=(mpirun -n "$MSWEEP_RANKS" --oversubscribe)
