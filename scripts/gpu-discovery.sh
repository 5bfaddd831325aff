#!/usr/bin/env bash
# Spark's resource discovery script for GPUs (spark.worker.resource.gpu.discoveryScript on a standalone worker,
# spark.executor.resource.gpu.discoveryScript on YARN or Kubernetes executors): prints the GPUs of this host as
#   {"name":"gpu","addresses":["0","1"]}
# from nvidia-smi's GPU indexes. KILN_GPU_STANDIN_ADDRESSES="0[,1...]" prints those addresses instead, without
# asking nvidia-smi: stand-in GPUs for testing Spark's GPU scheduling on machines without one (the tests'
# standalone cluster does). Exits 1 with a message on stderr when no GPU is found.
set -euo pipefail
if [[ -n "${KILN_GPU_STANDIN_ADDRESSES:-}" ]]; then
  addresses="$KILN_GPU_STANDIN_ADDRESSES"
else
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu-discovery: nvidia-smi not found: no NVIDIA driver on $(hostname); set KILN_GPU_STANDIN_ADDRESSES for stand-in GPUs" >&2
    exit 1
  fi
  addresses="$(nvidia-smi --query-gpu=index --format=csv,noheader | tr -d ' ' | paste -sd, -)"
fi
if [[ ! "$addresses" =~ ^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*$ ]]; then
  echo "gpu-discovery: no GPU addresses found (got '$addresses')" >&2
  exit 1
fi
printf '{"name":"gpu","addresses":["%s"]}\n' "${addresses//,/\",\"}"
