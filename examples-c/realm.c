/*
 * realm.c: a whole Kerberos realm in one process, through the C interface of libktix.
 *
 *   1. a KDC in memory with a user (alice) and a service (host/server.ktix.test);
 *   2. the KDC served over UDP and TCP on a loopback port the system picks;
 *   3. a client that logs alice in over the network (AS exchange) and builds an AP-REQ for the
 *      service (TGS exchange on first use), asking for mutual authentication;
 *   4. the service's acceptor, with the keytab the KDC exported, accepts the AP-REQ;
 *   5. the client checks the service's AP-REP (mutual authentication), both sides hold the same
 *      session key, the cache is listed, and the client logs out;
 *   6. a client built from krb5.conf (KRB5_CONFIG naming the realm and its KDC), as MIT's tools
 *      build theirs, logs alice in too.
 *
 * Every handle starts as NULL and every free function accepts NULL, so one cleanup path frees
 * whatever was made, whatever failed.
 *
 *   cc -std=c99 -Wall -Wextra -Werror -Iinclude examples-c/realm.c -Ltarget/debug -lktix -o realm
 *   LD_LIBRARY_PATH=target/debug ./realm
 */
#define _POSIX_C_SOURCE 200809L /* setenv, mkstemp, unlink */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktix.h"

#define REALM "KTIX.TEST"
#define SERVICE "host/server.ktix.test"

/* Runs a libktix call; on failure prints what went wrong and jumps to the cleanup. */
#define CHECK(call)                                                                      \
    do {                                                                                 \
        ktix_result r_ = (call);                                                         \
        if (r_ != KTIX_OK) {                                                             \
            fprintf(stderr, "realm: %s failed: %s\n  %s\n", #call, ktix_result_name(r_), \
                    ktix_last_error_message());                                          \
            goto done;                                                                   \
        }                                                                                \
    } while (0)

#define EXPECT(cond)                                            \
    do {                                                        \
        if (!(cond)) {                                          \
            fprintf(stderr, "realm: expected %s\n", #cond);     \
            goto done;                                          \
        }                                                       \
    } while (0)

int main(void) {
    int status = 1;
    ktix_kdc *kdc = NULL;
    ktix_keytab *keytab = NULL;
    ktix_kdc_server *server = NULL;
    ktix_ccache *ccache = NULL;
    ktix_client *client = NULL;
    ktix_ccache *conf_ccache = NULL;
    ktix_client *conf_client = NULL;
    char conf_path[] = "/tmp/ktix-realm-krb5.conf-XXXXXX";
    int conf_made = 0;
    FILE *conf = NULL;
    ktix_ap_context *ctx = NULL;
    ktix_acceptor *acceptor = NULL;
    ktix_accepted *accepted = NULL;
    ktix_credentials *creds = NULL;
    ktix_bytes ap_req = {NULL, 0};
    ktix_secret client_key = {NULL, 0, 0};
    ktix_secret service_key = {NULL, 0, 0};
    const uint8_t *ap_rep = NULL;
    size_t ap_rep_len = 0;
    ktix_times times;
    size_t i;

    printf("libktix %s\n", ktix_version());

    /* 1. The realm. */
    CHECK(ktix_kdc_new(REALM, &kdc));
    CHECK(ktix_kdc_add_principal(kdc, "alice", "alice-password"));
    CHECK(ktix_kdc_add_principal(kdc, SERVICE, NULL)); /* NULL password: random keys */
    CHECK(ktix_kdc_keytab(kdc, SERVICE, &keytab));
    printf("realm %s: alice and %s (%zu keys in its keytab)\n", REALM, SERVICE, ktix_keytab_len(keytab));

    /* 2. The KDC on loopback. */
    CHECK(ktix_kdc_server_new(kdc, "127.0.0.1:0", 0, &server));
    printf("KDC listening on %s (UDP and TCP)\n", ktix_kdc_server_address(server));

    /* 3. The client logs in and asks for the service. */
    CHECK(ktix_ccache_new_memory(&ccache));
    CHECK(ktix_client_new(REALM, ktix_kdc_server_address(server), ccache, &client));
    CHECK(ktix_client_login(client, "alice", "alice-password"));
    CHECK(ktix_client_ap_req(client, SERVICE, true, &ap_req, &ctx));
    printf("alice logged in; AP-REQ for %s: %zu bytes\n", SERVICE, ap_req.len);

    /* 4. The service accepts it. */
    CHECK(ktix_acceptor_new(keytab, &acceptor));
    CHECK(ktix_acceptor_accept(acceptor, ap_req.data, ap_req.len, &accepted));
    CHECK(ktix_accepted_times(accepted, &times));
    printf("service accepted %s (ticket for %s, valid for %lld s)\n", ktix_accepted_client(accepted),
           ktix_accepted_server(accepted), (long long)(times.end_time - times.start_time));
    EXPECT(strcmp(ktix_accepted_client(accepted), "alice@" REALM) == 0);

    /* 5. Mutual authentication: the AP-REP goes back to the client, which checks it. */
    CHECK(ktix_accepted_ap_rep(accepted, &ap_rep, &ap_rep_len));
    EXPECT(ap_rep != NULL && ap_rep_len > 0);
    CHECK(ktix_ap_context_verify(ctx, ap_rep, ap_rep_len));
    EXPECT(ktix_ap_context_is_verified(ctx));
    printf("client verified the %zu-byte AP-REP: mutual authentication done\n", ap_rep_len);

    CHECK(ktix_accepted_session_key(accepted, &service_key));
    CHECK(ktix_ap_context_session_key(ctx, &client_key));
    EXPECT(client_key.len == service_key.len && client_key.enctype == service_key.enctype);
    EXPECT(memcmp(client_key.data, service_key.data, client_key.len) == 0);
    printf("both sides hold the same %zu-byte session key (enctype %d)\n", client_key.len, (int)client_key.enctype);

    CHECK(ktix_ccache_credentials(ccache, &creds));
    printf("cache %s:\n", ktix_ccache_name(ccache));
    for (i = 0; i < ktix_credentials_len(creds); i++) {
        ktix_credential_info info;
        CHECK(ktix_credentials_get(creds, i, &info));
        printf("  %s -> %s, enctype %d, flags 0x%08x\n", info.client, info.server, (int)info.enctype,
               (unsigned)info.flags);
    }
    EXPECT(ktix_credentials_len(creds) == 2);
    ktix_credentials_free(creds);
    creds = NULL;

    CHECK(ktix_client_logout(client));
    CHECK(ktix_ccache_credentials(ccache, &creds));
    EXPECT(ktix_credentials_len(creds) == 0);
    printf("alice logged out; the cache is empty\n");

    ktix_credentials_free(creds);
    creds = NULL;

    /* 6. A client as krb5.conf describes it: default realm and KDC from the file KRB5_CONFIG names. */
    {
        int fd = mkstemp(conf_path);
        EXPECT(fd >= 0);
        conf_made = 1;
        conf = fdopen(fd, "w");
        EXPECT(conf != NULL);
        fprintf(conf, "[libdefaults]\n  default_realm = %s\n[realms]\n  %s = {\n    kdc = %s\n  }\n", REALM, REALM,
                ktix_kdc_server_address(server));
        EXPECT(fclose(conf) == 0);
        conf = NULL;
        EXPECT(setenv("KRB5_CONFIG", conf_path, 1) == 0);
    }
    CHECK(ktix_ccache_new_memory(&conf_ccache));
    CHECK(ktix_client_new_default(conf_ccache, &conf_client));
    CHECK(ktix_client_login(conf_client, "alice", "alice-password"));
    CHECK(ktix_ccache_credentials(conf_ccache, &creds));
    EXPECT(ktix_credentials_len(creds) == 1);
    printf("a client from krb5.conf (%s) logged alice in\n", conf_path);

    CHECK(ktix_kdc_server_stop(server));
    status = 0;
    printf("realm: OK\n");

done:
    ktix_secret_free(&client_key); /* wipes the key bytes */
    ktix_secret_free(&service_key);
    ktix_bytes_free(&ap_req);
    ktix_credentials_free(creds);
    ktix_accepted_free(accepted);
    ktix_acceptor_free(acceptor);
    ktix_ap_context_free(ctx);
    ktix_client_free(client);
    ktix_ccache_free(ccache);
    ktix_client_free(conf_client);
    ktix_ccache_free(conf_ccache);
    if (conf != NULL) {
        fclose(conf);
    }
    if (conf_made) {
        unlink(conf_path);
    }
    ktix_kdc_server_free(server);
    ktix_keytab_free(keytab);
    ktix_kdc_free(kdc);
    return status;
}
