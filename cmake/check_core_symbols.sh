#!/usr/bin/env bash
# The pure core may not reach the outside world: no ZeroMQ, no curl, no sockets, no clock and no
# files. This runs after the core library is built (and as a test) and fails the build if any of
# its objects needs such a symbol. Usage: check_core_symbols.sh libtally_core.a
set -euo pipefail
lib=$1
forbidden='^(zmq_|zsock_|zactor_|zpoller_|zmsg_|zframe_|zstr_|zsys_|zclock_|zloop_|zcert|zauth|curl_|socket|connect|bind|listen|accept4?|send|sendto|sendmsg|recv|recvfrom|recvmsg|poll|ppoll|epoll_|select|pselect|getaddrinfo|clock_gettime|clock|gettimeofday|time|nanosleep|usleep|sleep|alarm|fopen|fopen64|freopen|fdopen|open|open64|openat|creat|read|write|pread|pwrite|fread|fwrite|fclose|fflush|fprintf|vfprintf|printf|vprintf|puts|fputs|fputc|putchar|mmap|mmap64|munmap|unlink|rename|fsync|opendir|readdir|stat|stat64|fstat|lstat|mkdir|stderr|stdout|stdin)(@.*)?$'
# nm -A prints "lib.a:member.o:                 U symbol" per undefined symbol.
bad=$(nm -A -u "$lib" 2>/dev/null | awk '{ n = split($1, p, ":"); print p[n - 1], $NF }' |
    while read -r obj sym; do
        if [[ ${sym%%@*} =~ $forbidden ]]; then echo "$obj needs $sym"; fi
    done)
if [ -n "$bad" ]; then
    echo "check_core_symbols: the pure core reaches outside itself:" >&2
    echo "$bad" | sed 's/^/  /' >&2
    exit 1
fi
echo "check_core_symbols: $(basename "$lib") is pure ($(nm -u "$lib" | grep -c ' U ') undefined symbols, none forbidden)"
