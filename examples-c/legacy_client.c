/*
 * legacy_client.c: the client of legacy_server.c. It gets a service ticket through libktix,
 * sends the AP-REQ (length-prefixed) as the first thing on the connection, checks the server's
 * AP-REP (mutual authentication) and prints what the server says.
 *
 *   legacy_client REALM KDC HOST:PORT SERVICE [USER]
 *
 * With USER: logs USER in with the password read from the first line of standard input, into a
 * memory cache, reaching the KDC at KDC (host:port), and logs out at the end.
 * Without USER: uses the tickets already in the default credential cache ($KRB5CCNAME, else
 * FILE:/tmp/krb5cc_<uid>), as written by MIT's `kinit` or by another libktix program; no
 * password is involved, and the cache is left as it is (with the new service ticket added).
 *
 *   cc -std=c99 -Wall -Wextra -Werror -Iinclude examples-c/legacy_client.c -Ltarget/debug -lktix
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ktix.h"

#define MAX_FRAME (64 * 1024)

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

static int read_u32(int fd, uint32_t *v) {
    uint8_t b[4];
    if (read_all(fd, b, 4) != 0) return -1;
    *v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
    return 0;
}

/* Reads [len][bytes] into a new buffer (NUL-terminated for convenience); NULL on error. */
static uint8_t *read_frame(int fd, size_t *len) {
    uint32_t n;
    uint8_t *buf;
    if (read_u32(fd, &n) != 0 || n > MAX_FRAME) return NULL;
    buf = (uint8_t *)malloc((size_t)n + 1);
    if (buf == NULL) return NULL;
    if (read_all(fd, buf, n) != 0) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Overwrites a secret through a volatile pointer, so that the compiler cannot drop the stores as
 * it may drop a memset() of memory that is not read again. */
static void wipe(void *secret, size_t len) {
    volatile unsigned char *p = (volatile unsigned char *)secret;
    while (len-- > 0) *p++ = 0;
}

/* Connects to "host:port". */
static int connect_to(const char *hostport) {
    char host[256];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1;
    if (colon == NULL || (size_t)(colon - hostport) >= sizeof host) return -1;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0) return -1;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

#define CHECK(call)                                                                             \
    do {                                                                                        \
        ktix_result r_ = (call);                                                                \
        if (r_ != KTIX_OK) {                                                                    \
            fprintf(stderr, "legacy_client: %s: %s\n", ktix_result_name(r_), ktix_last_error_message()); \
            goto done;                                                                          \
        }                                                                                       \
    } while (0)

int main(int argc, char **argv) {
    const char *realm, *kdc, *server, *service, *user;
    char password[256];
    ktix_ccache *ccache = NULL;
    ktix_client *client = NULL;
    ktix_ap_context *ctx = NULL;
    ktix_bytes ap_req = {NULL, 0};
    uint8_t *ap_rep = NULL, *hello = NULL, *why = NULL;
    uint8_t prefix[4];
    size_t ap_rep_len = 0, hello_len = 0, why_len = 0;
    uint32_t code;
    int fd = -1, status = 1;

    memset(password, 0, sizeof password);
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s REALM KDC HOST:PORT SERVICE [USER  (password on stdin)]\n", argv[0]);
        return 2;
    }
    realm = argv[1];
    kdc = argv[2];
    server = argv[3];
    service = argv[4];
    user = argc == 6 ? argv[5] : NULL;

    if (user != NULL) {
        CHECK(ktix_ccache_new_memory(&ccache));
        CHECK(ktix_client_new(realm, kdc, ccache, &client));
        if (fgets(password, sizeof password, stdin) == NULL) {
            fprintf(stderr, "legacy_client: no password on standard input\n");
            goto done;
        }
        password[strcspn(password, "\r\n")] = 0;
        CHECK(ktix_client_login(client, user, password));
        printf("logged in as %s; cache %s\n", user, ktix_ccache_name(ccache));
    } else {
        ktix_credentials *creds = NULL;
        ktix_credential_info tgt;
        CHECK(ktix_ccache_new_default(&ccache));
        CHECK(ktix_client_new(realm, kdc, ccache, &client));
        CHECK(ktix_ccache_credentials(ccache, &creds));
        if (ktix_credentials_len(creds) == 0 || ktix_credentials_get(creds, 0, &tgt) != KTIX_OK) {
            fprintf(stderr, "legacy_client: no tickets in %s (run kinit first)\n", ktix_ccache_name(ccache));
            ktix_credentials_free(creds);
            goto done;
        }
        printf("using the tickets of %s in %s\n", tgt.client, ktix_ccache_name(ccache));
        ktix_credentials_free(creds);
    }

    CHECK(ktix_client_ap_req(client, service, true, &ap_req, &ctx));

    fd = connect_to(server);
    if (fd < 0) {
        fprintf(stderr, "legacy_client: cannot connect to %s\n", server);
        goto done;
    }
    prefix[0] = (uint8_t)(ap_req.len >> 24);
    prefix[1] = (uint8_t)(ap_req.len >> 16);
    prefix[2] = (uint8_t)(ap_req.len >> 8);
    prefix[3] = (uint8_t)ap_req.len;
    if (write_all(fd, prefix, 4) != 0 || write_all(fd, ap_req.data, ap_req.len) != 0 || read_u32(fd, &code) != 0) {
        fprintf(stderr, "legacy_client: connection to %s failed\n", server);
        goto done;
    }
    if (code != 0) {
        why = read_frame(fd, &why_len);
        fprintf(stderr, "legacy_client: the server refused us: %s\n", why != NULL ? (char *)why : "?");
        goto done;
    }
    ap_rep = read_frame(fd, &ap_rep_len);
    if (ap_rep == NULL) {
        fprintf(stderr, "legacy_client: no AP-REP\n");
        goto done;
    }
    CHECK(ktix_ap_context_verify(ctx, ap_rep, ap_rep_len));
    printf("mutual authentication: the server proved it holds the session key\n");

    hello = read_frame(fd, &hello_len);
    if (hello == NULL) {
        fprintf(stderr, "legacy_client: no greeting\n");
        goto done;
    }
    printf("server says: %s\n", (char *)hello);
    if (user != NULL) CHECK(ktix_client_logout(client));
    status = 0;

done:
    wipe(password, sizeof password);
    if (fd >= 0) close(fd);
    free(hello);
    free(ap_rep);
    free(why);
    ktix_bytes_free(&ap_req);
    ktix_ap_context_free(ctx);
    ktix_client_free(client);
    ktix_ccache_free(ccache);
    return status;
}
