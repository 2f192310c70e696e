/*
 * legacy_server.c: a small TCP service that authenticates each connection with Kerberos through
 * libktix, the way an existing service replaces its own Kerberos code: the keytab comes from a
 * file (written by `ktix db ktadd` or MIT's kadmin), each connection starts with a
 * length-prefixed AP-REQ, and the server answers with the AP-REP, then talks to the
 * authenticated client.
 *
 * The protocol (all lengths and codes 4-byte big-endian):
 *
 *   client -> server   [len][AP-REQ]
 *   server -> client   [0][len][AP-REP]                 accepted (len 0: no mutual authentication)
 *                      [code][len][message]             refused: a ktix_result and why
 *   server -> client   [len]["hello alice@REALM"]       after acceptance
 *
 *   legacy_server KEYTAB PORT_FILE [CONNECTIONS]
 *
 * listens on 127.0.0.1 on a port the system picks, writes the port number to PORT_FILE, serves
 * CONNECTIONS connections (default 1) one after the other, and exits 0 when every one was
 * handled (accepted or cleanly refused).
 *
 *   cc -std=c99 -Wall -Wextra -Werror -Iinclude examples-c/legacy_server.c -Ltarget/debug -lktix
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ktix.h"

/* The largest AP-REQ this service reads (tickets with large authorization data fit). */
#define MAX_AP_REQ (64 * 1024)

static int write_all(int fd, const void *buf, size_t len) {
    const uint8_t *p = (const uint8_t *)buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len) {
    uint8_t *p = (uint8_t *)buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_u32(int fd, uint32_t v) {
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return write_all(fd, b, 4);
}

static int read_u32(int fd, uint32_t *v) {
    uint8_t b[4];
    if (read_all(fd, b, 4) != 0) return -1;
    *v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
    return 0;
}

static int write_frame(int fd, const void *data, size_t len) {
    if (write_u32(fd, (uint32_t)len) != 0) return -1;
    return len == 0 ? 0 : write_all(fd, data, len);
}

/* Refuses a connection: [code][len][message]. */
static int refuse(int fd, ktix_result code, const char *why) {
    if (write_u32(fd, (uint32_t)code) != 0) return -1;
    return write_frame(fd, why, strlen(why));
}

/* Handles one connection; returns 0 when it was accepted or cleanly refused. */
static int serve(const ktix_acceptor *acceptor, int fd) {
    uint32_t len;
    uint8_t *ap_req = NULL;
    ktix_accepted *accepted = NULL;
    const uint8_t *ap_rep = NULL;
    size_t ap_rep_len = 0;
    char hello[512];
    ktix_result r;
    int status = -1;

    if (read_u32(fd, &len) != 0) {
        fprintf(stderr, "legacy_server: connection closed before the AP-REQ\n");
        return -1;
    }
    if (len == 0 || len > MAX_AP_REQ) {
        printf("refused a connection: AP-REQ length %lu\n", (unsigned long)len);
        return refuse(fd, KTIX_ERR_INVALID_ARGUMENT, "bad AP-REQ length");
    }
    ap_req = (uint8_t *)malloc(len);
    if (ap_req == NULL || read_all(fd, ap_req, len) != 0) goto done;

    r = ktix_acceptor_accept(acceptor, ap_req, len, &accepted);
    if (r != KTIX_OK) {
        /* A real service logs this and tells the client only the code. */
        printf("refused a connection: %s (%s)\n", ktix_result_name(r), ktix_last_error_message());
        status = refuse(fd, r, ktix_result_name(r));
        goto done;
    }
    if (ktix_accepted_ap_rep(accepted, &ap_rep, &ap_rep_len) != KTIX_OK) goto done;
    if (write_u32(fd, 0) != 0 || write_frame(fd, ap_rep, ap_rep_len) != 0) goto done;

    snprintf(hello, sizeof hello, "hello %s", ktix_accepted_client(accepted));
    if (write_frame(fd, hello, strlen(hello)) != 0) goto done;
    printf("authenticated %s for %s%s\n", ktix_accepted_client(accepted), ktix_accepted_server(accepted),
           ap_rep_len > 0 ? " (mutual)" : "");
    status = 0;

done:
    ktix_accepted_free(accepted);
    free(ap_req);
    return status;
}

int main(int argc, char **argv) {
    ktix_keytab *keytab = NULL;
    ktix_acceptor *acceptor = NULL;
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof addr;
    int listener = -1, status = 1, one = 1;
    long connections = 1, i;
    FILE *port_file;
    ktix_result r;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s KEYTAB PORT_FILE [CONNECTIONS]\n", argv[0]);
        return 2;
    }
    if (argc == 4) connections = strtol(argv[3], NULL, 10);

    r = ktix_keytab_load(argv[1], &keytab);
    if (r == KTIX_OK) r = ktix_acceptor_new(keytab, &acceptor);
    if (r != KTIX_OK) {
        fprintf(stderr, "legacy_server: %s: %s\n", ktix_result_name(r), ktix_last_error_message());
        goto done;
    }

    listener = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 16) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("legacy_server: listen");
        goto done;
    }
    port_file = fopen(argv[2], "w");
    if (port_file == NULL || fprintf(port_file, "%u\n", (unsigned)ntohs(addr.sin_port)) < 0 ||
        fclose(port_file) != 0) {
        perror("legacy_server: port file");
        goto done;
    }
    printf("listening on 127.0.0.1:%u with %zu keys\n", (unsigned)ntohs(addr.sin_port), ktix_keytab_len(keytab));
    fflush(stdout);

    status = 0;
    for (i = 0; i < connections; i++) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            perror("legacy_server: accept");
            status = 1;
            break;
        }
        if (serve(acceptor, fd) != 0) status = 1;
        close(fd);
        fflush(stdout);
    }

done:
    if (listener >= 0) close(listener);
    ktix_acceptor_free(acceptor);
    ktix_keytab_free(keytab);
    return status;
}
