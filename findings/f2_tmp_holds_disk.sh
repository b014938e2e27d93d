#!/usr/bin/env bash
# rt13 F2: a base that fails on a full disk leaves reducer.ckpt.tmp holding the rest of the space;
# the log, which "keeps growing" after a failed compaction, then fails at its next append. On a
# 4 MB tmpfs: old code acked 23 of 75 tasks before the stall (the compaction warning is followed
# within ~0.1 s by "cannot write the checkpoint"), fixed (11e4652) 45. Needs root (mount).
# usage: TALLY=... TALLY_SRC=... f2_tmp_holds_disk.sh DATA TRUTH
KILLS=0 WAIT=25 exec bash "$(dirname "$0")/a2_tmpfs_full.sh" "$1" "$2" 4M 4096
