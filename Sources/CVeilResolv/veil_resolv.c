#include "veil_resolv.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

static int append(char *out, size_t out_length, size_t *used, const char *text, size_t length) {
    if (*used + length + 1 > out_length) return 0;
    memcpy(out + *used, text, length);
    out[*used + length] = '\0';
    *used += length + 1;
    return 1;
}

int veil_dns_lookup(const char *server, int port, int timeout_seconds, const char *name, int type,
                    char *out, size_t out_length, int *count) {
    struct __res_state state;
    unsigned char answer[65536];
    *count = 0;
    memset(&state, 0, sizeof state);
    if (res_ninit(&state) != 0) return VEIL_DNS_FAILURE;
    state.options |= RES_USE_EDNS0;
    state.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
    state.retrans = timeout_seconds > 0 ? timeout_seconds : 5;
    state.retry = 2;
    if (server != NULL && server[0] != '\0') {
        struct sockaddr_in address;
        memset(&address, 0, sizeof address);
        address.sin_family = AF_INET;
        address.sin_port = htons((unsigned short)(port > 0 ? port : 53));
        if (inet_pton(AF_INET, server, &address.sin_addr) != 1) { res_nclose(&state); return VEIL_DNS_FAILURE; }
        state.nsaddr_list[0] = address;
        state.nscount = 1;
    }
    int length = res_nquery(&state, name, ns_c_in, type, answer, sizeof answer);
    if (length < 0) {
        int error = state.res_h_errno;
        res_nclose(&state);
        return (error == HOST_NOT_FOUND || error == NO_DATA) ? VEIL_DNS_NO_RECORDS : VEIL_DNS_FAILURE;
    }
    res_nclose(&state);

    ns_msg message;
    if (ns_initparse(answer, length, &message) != 0) return VEIL_DNS_FAILURE;
    size_t used = 0;
    int records = ns_msg_count(message, ns_s_an);
    for (int index = 0; index < records; index++) {
        ns_rr record;
        if (ns_parserr(&message, ns_s_an, index, &record) != 0) return VEIL_DNS_FAILURE;
        if (ns_rr_type(record) != type) continue;  /* a CNAME the server followed, for example */
        const unsigned char *data = ns_rr_rdata(record);
        int data_length = ns_rr_rdlen(record);
        char text[NS_MAXDNAME + 16];
        if (type == ns_t_mx) {
            if (data_length < 3) return VEIL_DNS_FAILURE;
            char host[NS_MAXDNAME];
            /* dn_expand follows compression pointers into the whole message. */
            if (dn_expand(ns_msg_base(message), ns_msg_end(message), data + 2, host, sizeof host) < 0) return VEIL_DNS_FAILURE;
            int written = snprintf(text, sizeof text, "%u %s", (unsigned)((data[0] << 8) | data[1]), host);
            if (!append(out, out_length, &used, text, (size_t)written)) return VEIL_DNS_TOO_LARGE;
        } else if (type == ns_t_cname) {
            char host[NS_MAXDNAME];
            if (dn_expand(ns_msg_base(message), ns_msg_end(message), data, host, sizeof host) < 0) return VEIL_DNS_FAILURE;
            if (!append(out, out_length, &used, host, strlen(host))) return VEIL_DNS_TOO_LARGE;
        } else if (type == ns_t_txt) {
            /* A TXT record is one or more <length><bytes> character-strings, read as one text. */
            int offset = 0;
            while (offset < data_length) {
                int piece = data[offset];
                if (offset + 1 + piece > data_length) return VEIL_DNS_FAILURE;
                if (used + (size_t)piece + 1 > out_length) return VEIL_DNS_TOO_LARGE;
                memcpy(out + used, data + offset + 1, (size_t)piece);
                used += (size_t)piece;
                offset += 1 + piece;
            }
            if (used + 1 > out_length) return VEIL_DNS_TOO_LARGE;
            out[used++] = '\0';
        } else {
            continue;
        }
        (*count)++;
    }
    return VEIL_DNS_OK;
}
