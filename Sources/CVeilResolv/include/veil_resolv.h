#ifndef VEIL_RESOLV_H
#define VEIL_RESOLV_H

#include <stddef.h>

/// Outcome of a lookup besides the records themselves.
enum veil_dns_status {
    VEIL_DNS_OK = 0,          /* answer parsed; zero or more records */
    VEIL_DNS_NO_RECORDS = 1,  /* NXDOMAIN or no data of that type */
    VEIL_DNS_FAILURE = 2,     /* timeout, SERVFAIL, refused, malformed answer */
    VEIL_DNS_TOO_LARGE = 3    /* the records did not fit in `out` */
};

/// Queries `name` for records of `type` (ns_t_mx, ns_t_txt, ns_t_cname) with glibc's resolver.
/// When `server` is an IPv4 literal, that server (and `port`) is asked instead of
/// /etc/resolv.conf's. Each record of the asked type in the answer section is written to `out`
/// as one NUL-terminated string: MX as "<preference> <host>", TXT as its character-strings
/// joined, CNAME as the target (host names without the trailing dot). `*count` receives how
/// many. Blocking: call it from a thread pool.
int veil_dns_lookup(const char *server, int port, int timeout_seconds, const char *name, int type,
                    char *out, size_t out_length, int *count);

#endif
