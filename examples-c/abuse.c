/*
 * abuse.c: drives the libktix C interface with what careless or hostile callers pass (NULL
 * handles and outputs, handles of the wrong type, garbage and truncated AP-REQs, lengths that
 * do not match, strings that are not UTF-8, repeated frees of the same buffer) and checks that
 * every call answers with the documented result code instead of crashing.
 *
 * Run under valgrind memcheck by the tests: besides the result codes, no invalid read or write
 * and no leak may occur. (Using a handle after freeing it, or passing a length longer than the
 * buffer, is undefined behaviour that no C library can detect reliably; this program does
 * neither. A handle of the wrong type is detected by the tag at its start.)
 *
 *   cc -std=c99 -Wall -Wextra -Werror -Iinclude examples-c/abuse.c -Ltarget/debug -lktix
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktix.h"

#define REALM "KTIX.TEST"
#define SERVICE "host/server.ktix.test"

static int checks = 0, failures = 0;

/* Checks that `call` returns `want`. */
#define EXPECT(call, want)                                                                        \
    do {                                                                                          \
        ktix_result got_ = (call);                                                                \
        checks++;                                                                                 \
        if (got_ != (want)) {                                                                     \
            failures++;                                                                           \
            fprintf(stderr, "abuse.c:%d: %s\n  returned %s (%d), expected %s\n  last error: %s\n", \
                    __LINE__, #call, ktix_result_name(got_), (int)got_, #want, ktix_last_error_message()); \
        }                                                                                         \
    } while (0)

#define TRUE(cond)                                                          \
    do {                                                                    \
        checks++;                                                           \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "abuse.c:%d: expected %s\n", __LINE__, #cond);  \
        }                                                                   \
    } while (0)

static void nulls_everywhere(void) {
    ktix_kdc *kdc = (ktix_kdc *)&checks; /* not NULL: each failing constructor must reset it */
    ktix_keytab *kt = NULL;
    ktix_client *client = NULL;
    ktix_acceptor *acc = NULL;
    ktix_accepted *accepted = NULL;
    ktix_kdc_server *server = NULL;
    ktix_credentials *creds = NULL;
    ktix_bytes bytes = {NULL, 0};
    ktix_secret secret = {NULL, 0, 0};
    ktix_times times;
    ktix_keytab_entry_info entry;
    ktix_credential_info info;
    const uint8_t *data = NULL;
    size_t len = 0;

    EXPECT(ktix_kdc_new(NULL, &kdc), KTIX_ERR_NULL_ARGUMENT);
    TRUE(kdc == NULL);
    EXPECT(ktix_kdc_new(REALM, NULL), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_kdc_open(NULL, REALM, &kdc), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_kdc_add_principal(NULL, "alice", "pw"), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_kdc_keytab(NULL, SERVICE, &kt), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_kdc_handle(NULL, (const uint8_t *)"x", 1, &bytes), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_kdc_server_new(NULL, "127.0.0.1:0", 0, &server), KTIX_ERR_NULL_ARGUMENT);
    TRUE(ktix_kdc_server_address(NULL) == NULL);
    TRUE(strstr(ktix_last_error_message(), "ktix_kdc_server handle is NULL") != NULL); /* says why */
    EXPECT(ktix_kdc_server_stop(NULL), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_keytab_load(NULL, &kt), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_keytab_save(NULL, "/tmp/x"), KTIX_ERR_NULL_ARGUMENT);
    TRUE(ktix_keytab_len(NULL) == 0);
    EXPECT(ktix_keytab_entry(NULL, 0, &entry), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_ccache_new_memory(NULL), KTIX_ERR_NULL_ARGUMENT);
    TRUE(ktix_ccache_name(NULL) == NULL);
    EXPECT(ktix_ccache_credentials(NULL, &creds), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_ccache_destroy(NULL), KTIX_ERR_NULL_ARGUMENT);
    TRUE(ktix_credentials_len(NULL) == 0);
    EXPECT(ktix_credentials_get(NULL, 0, &info), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_client_new(REALM, "127.0.0.1:88", NULL, &client), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_client_new_in_process(NULL, NULL, &client), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_client_new_default(NULL, &client), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_client_login(NULL, "alice", "pw"), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_client_login_keytab(NULL, "alice", NULL), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_client_ap_req(NULL, SERVICE, true, &bytes, NULL), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_client_logout(NULL), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_ap_context_verify(NULL, (const uint8_t *)"x", 1), KTIX_ERR_NULL_ARGUMENT);
    TRUE(!ktix_ap_context_is_verified(NULL));
    EXPECT(ktix_ap_context_session_key(NULL, &secret), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_acceptor_new(NULL, &acc), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_acceptor_accept(NULL, (const uint8_t *)"x", 1, &accepted), KTIX_ERR_NULL_ARGUMENT);
    TRUE(ktix_accepted_client(NULL) == NULL && ktix_accepted_server(NULL) == NULL);
    EXPECT(ktix_accepted_times(NULL, &times), KTIX_ERR_NULL_ARGUMENT);
    TRUE(ktix_accepted_flags(NULL) == 0);
    EXPECT(ktix_accepted_ap_rep(NULL, &data, &len), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_accepted_session_key(NULL, &secret), KTIX_ERR_NULL_ARGUMENT);

    /* The message says which argument was NULL. */
    EXPECT(ktix_kdc_new(NULL, &kdc), KTIX_ERR_NULL_ARGUMENT);
    TRUE(strstr(ktix_last_error_message(), "realm is NULL") != NULL);

    /* Every free function accepts NULL; buffer frees accept NULL and empty buffers. */
    ktix_kdc_free(NULL);
    ktix_kdc_server_free(NULL);
    ktix_keytab_free(NULL);
    ktix_ccache_free(NULL);
    ktix_credentials_free(NULL);
    ktix_client_free(NULL);
    ktix_ap_context_free(NULL);
    ktix_acceptor_free(NULL);
    ktix_accepted_free(NULL);
    ktix_bytes_free(NULL);
    ktix_bytes_free(&bytes);
    ktix_secret_free(NULL);
    ktix_secret_free(&secret);
}

static void bad_values(void) {
    ktix_kdc *kdc = NULL;
    ktix_kdc_server *server = NULL;
    ktix_keytab *kt = NULL;
    ktix_ccache *cc = NULL;
    ktix_client *client = NULL;
    char path[] = "/tmp/ktix-abuse-XXXXXX";
    int fd;

    EXPECT(ktix_kdc_new("", &kdc), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_kdc_new("\xff\xfe", &kdc), KTIX_ERR_INVALID_ARGUMENT); /* not UTF-8 */
    EXPECT(ktix_kdc_new(REALM, &kdc), KTIX_OK);
    EXPECT(ktix_kdc_add_principal(kdc, "", "pw"), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_kdc_add_principal(kdc, "bob@OTHER.REALM", "pw"), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_kdc_add_principal(kdc, "bob", "pw"), KTIX_OK);
    EXPECT(ktix_kdc_add_principal(kdc, "bob", "pw"), KTIX_ERR_EXISTS);
    EXPECT(ktix_kdc_keytab(kdc, "nobody", &kt), KTIX_ERR_NOT_FOUND);
    TRUE(kt == NULL);
    EXPECT(ktix_kdc_server_new(kdc, "", 0, &server), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_kdc_server_new(kdc, "not an address", 0, &server), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_kdc_server_new(kdc, "127.0.0.1:0", 0xff, &server), KTIX_ERR_INVALID_ARGUMENT);
    TRUE(server == NULL);
    ktix_kdc_free(kdc);
    kdc = NULL;

    /* Files that are missing or are not what they should be. */
    EXPECT(ktix_keytab_load("/nonexistent/dir/keytab", &kt), KTIX_ERR_IO);
    EXPECT(ktix_keytab_load("MEMORY:x", &kt), KTIX_ERR_INVALID_ARGUMENT);
    fd = mkstemp(path);
    if (fd >= 0) {
        TRUE(write(fd, "this is not a keytab", 20) == 20);
        close(fd);
        EXPECT(ktix_keytab_load(path, &kt), KTIX_ERR_BAD_FILE);
        {
            ktix_ccache *bad = NULL;
            ktix_credentials *list = NULL;
            EXPECT(ktix_ccache_new_file(path, &bad), KTIX_OK); /* opening reads nothing yet */
            EXPECT(ktix_ccache_credentials(bad, &list), KTIX_ERR_BAD_FILE);
            TRUE(list == NULL);
            ktix_ccache_free(bad);
        }
        {
            ktix_kdc *db = NULL;
            EXPECT(ktix_kdc_open(path, REALM, &db), KTIX_ERR_BAD_FILE); /* never modified */
            ktix_kdc_free(db);
        }
        unlink(path);
        {
            ktix_ccache *gone = NULL;
            EXPECT(ktix_ccache_new_file(path, &gone), KTIX_OK);
            EXPECT(ktix_ccache_destroy(gone), KTIX_ERR_NOT_FOUND); /* no such cache */
            ktix_ccache_free(gone);
        }
        {
            char lock[sizeof path + 8];
            snprintf(lock, sizeof lock, "%s.lock", path);
            unlink(lock); /* the file cache's lock file, if one was made */
        }
    }
    EXPECT(ktix_kdc_open("/nonexistent/dir/realm.db", REALM, &kdc), KTIX_ERR_IO);
    TRUE(kdc == NULL);

    /* Credential cache names. */
    EXPECT(ktix_ccache_new_file(NULL, &cc), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_ccache_new_file("", &cc), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_ccache_new_default(NULL), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_ccache_resolve("KEYRING:persistent:0", &cc), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_ccache_resolve("", &cc), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_ccache_new_file("/nonexistent/dir/krb5cc", &cc), KTIX_OK);
    EXPECT(ktix_ccache_destroy(cc), KTIX_ERR_NOT_FOUND); /* no such cache (MIT: "No credentials cache found") */
    ktix_ccache_free(cc);
    cc = NULL;

    /* Clients: no KDC address, an unreachable KDC, no login yet. */
    EXPECT(ktix_ccache_new_memory(&cc), KTIX_OK);
    EXPECT(ktix_client_new(REALM, " , ", cc, &client), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_client_new("", "127.0.0.1:1", cc, &client), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_client_new_default(cc, NULL), KTIX_ERR_NULL_ARGUMENT);
    /* krb5.conf without a default realm (an empty file), then a realm without a KDC. */
    setenv("KRB5_CONFIG", "/dev/null", 1);
    EXPECT(ktix_client_new_default(cc, &client), KTIX_ERR_CONFIG);
    TRUE(client == NULL);
    {
        char conf[] = "/tmp/ktix-abuse-krb5.conf-XXXXXX";
        int fd = mkstemp(conf);
        TRUE(fd >= 0);
        if (fd >= 0) {
            static const char text[] = "[libdefaults]\n  default_realm = NOKDC.TEST\n";
            TRUE(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
            close(fd);
            setenv("KRB5_CONFIG", conf, 1);
            EXPECT(ktix_client_new_default(cc, &client), KTIX_ERR_CONFIG);
            TRUE(client == NULL);
            unlink(conf);
        }
    }
    unsetenv("KRB5_CONFIG");
    EXPECT(ktix_client_new(REALM, "127.0.0.1:1", cc, &client), KTIX_OK);
    {
        ktix_bytes b = {NULL, 0};
        EXPECT(ktix_client_ap_req(client, SERVICE, true, &b, NULL), KTIX_ERR_NOT_LOGGED_IN);
        TRUE(b.data == NULL && b.len == 0);
    }
    ktix_client_free(client);
    ktix_ccache_free(cc);
}

/* A realm with alice and the service, an accepted exchange, then everything wrong with it. */
static void bad_messages(void) {
    ktix_kdc *kdc = NULL;
    ktix_keytab *kt = NULL;
    ktix_ccache *cc = NULL;
    ktix_client *client = NULL;
    ktix_acceptor *acc = NULL;
    ktix_accepted *accepted = NULL;
    ktix_ap_context *ctx = NULL, *ctx2 = NULL;
    ktix_bytes req = {NULL, 0}, req2 = {NULL, 0}, reply = {NULL, 0};
    const uint8_t *rep = NULL;
    size_t rep_len = 0, i;
    uint8_t *copy;
    ktix_result r;
    int garbage_inputs = 0;

    EXPECT(ktix_kdc_new(REALM, &kdc), KTIX_OK);
    EXPECT(ktix_kdc_add_principal(kdc, "alice", "alice-pw"), KTIX_OK);
    EXPECT(ktix_kdc_add_principal(kdc, SERVICE, NULL), KTIX_OK);
    EXPECT(ktix_kdc_keytab(kdc, SERVICE, &kt), KTIX_OK);
    EXPECT(ktix_ccache_new_memory(&cc), KTIX_OK);
    EXPECT(ktix_client_new_in_process(kdc, cc, &client), KTIX_OK);
    EXPECT(ktix_client_login(client, "alice", "wrong"), KDC_ERR_PREAUTH_FAILED);
    EXPECT(ktix_client_login(client, "mallory", "pw"), KDC_ERR_C_PRINCIPAL_UNKNOWN);
    EXPECT(ktix_client_login(client, "alice", "alice-pw"), KTIX_OK);
    EXPECT(ktix_client_ap_req(client, "host/unknown.ktix.test", true, &req, &ctx), KDC_ERR_S_PRINCIPAL_UNKNOWN);
    TRUE(req.data == NULL && ctx == NULL);
    EXPECT(ktix_client_ap_req(client, SERVICE, true, NULL, &ctx), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_client_ap_req(client, SERVICE, true, &req, &ctx), KTIX_OK);
    EXPECT(ktix_client_ap_req(client, SERVICE, true, &req2, &ctx2), KTIX_OK);
    EXPECT(ktix_acceptor_new(kt, &acc), KTIX_OK);

    /* A handle of the wrong type is refused, not used. */
    EXPECT(ktix_acceptor_accept((const ktix_acceptor *)kt, req.data, req.len, &accepted), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_client_logout((const ktix_client *)cc), KTIX_ERR_INVALID_ARGUMENT);
    TRUE(ktix_keytab_len((const ktix_keytab *)acc) == 0);
    ktix_kdc_free((ktix_kdc *)acc); /* not a KDC: left alone */

    /* Garbage, empty, NULL, oversized and truncated AP-REQs. */
    EXPECT(ktix_acceptor_accept(acc, (const uint8_t *)"garbage", 7, &accepted), KTIX_ERR_MALFORMED);
    EXPECT(ktix_acceptor_accept(acc, NULL, 0, &accepted), KTIX_ERR_MALFORMED);
    EXPECT(ktix_acceptor_accept(acc, NULL, 100, &accepted), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_acceptor_accept(acc, req.data, (size_t)KTIX_MAX_MESSAGE_LEN + 1, &accepted), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_acceptor_accept(acc, req.data, (size_t)-1, &accepted), KTIX_ERR_INVALID_ARGUMENT);
    EXPECT(ktix_acceptor_accept(acc, req.data, req.len, NULL), KTIX_ERR_NULL_ARGUMENT);
    for (i = 0; i < req.len; i++) {
        r = ktix_acceptor_accept(acc, req.data, i, &accepted);
        if (r == KTIX_OK) {
            failures++;
            fprintf(stderr, "abuse.c: an AP-REQ cut to %zu of %zu bytes was accepted\n", i, req.len);
            ktix_accepted_free(accepted);
            accepted = NULL;
        }
        garbage_inputs++;
    }
    checks++;
    TRUE(accepted == NULL);

    /* Bit flips all over a second AP-REQ: each is answered with a result code. A flip in the
     * encrypted parts fails the integrity check; a flip in an unprotected field (an ap-options
     * bit) may be accepted, after which the authenticator counts as used (a replay). */
    copy = (uint8_t *)malloc(req2.len);
    if (copy != NULL) {
        int refused = 0;
        for (i = 0; i < req2.len * 8; i += 7) {
            memcpy(copy, req2.data, req2.len);
            copy[i / 8] ^= (uint8_t)(1u << (i % 8));
            r = ktix_acceptor_accept(acc, copy, req2.len, &accepted);
            if (r == KTIX_OK) {
                ktix_accepted_free(accepted);
                accepted = NULL;
            } else {
                refused++;
            }
            garbage_inputs++;
        }
        free(copy);
        TRUE(refused > 0);
    }

    /* The real one is accepted once; the same bytes again are a replay. */
    EXPECT(ktix_acceptor_accept(acc, req.data, req.len, &accepted), KTIX_OK);
    {
        ktix_accepted *again = NULL;
        EXPECT(ktix_acceptor_accept(acc, req.data, req.len, &again), KRB_AP_ERR_REPEAT);
        TRUE(again == NULL);
        TRUE(strncmp(ktix_last_error_message(), "KRB_AP_ERR_REPEAT", 17) == 0);
    }
    EXPECT(ktix_accepted_ap_rep(accepted, NULL, &rep_len), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_accepted_ap_rep(accepted, &rep, NULL), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_accepted_ap_rep(accepted, &rep, &rep_len), KTIX_OK);

    /* AP-REPs: garbage, truncated, and one meant for another AP-REQ. */
    EXPECT(ktix_ap_context_verify(ctx, (const uint8_t *)"junk", 4), KTIX_ERR_MALFORMED);
    EXPECT(ktix_ap_context_verify(ctx, rep, rep_len - 1), KTIX_ERR_MALFORMED);
    EXPECT(ktix_ap_context_verify(ctx, NULL, 10), KTIX_ERR_NULL_ARGUMENT);
    EXPECT(ktix_ap_context_verify(ctx2, rep, rep_len), KRB_AP_ERR_MUT_FAIL);
    TRUE(!ktix_ap_context_is_verified(ctx2));
    EXPECT(ktix_ap_context_verify(ctx, rep, rep_len), KTIX_OK);
    TRUE(ktix_ap_context_is_verified(ctx));

    /* The KDC answers a malformed request with a KRB-ERROR, never a crash; input that is not
     * shaped like a request gets no reply (an empty result). */
    EXPECT(ktix_kdc_handle(kdc, (const uint8_t *)"\x6a\x03\x02\x01\x05", 5, &reply), KTIX_OK);
    TRUE(reply.len > 0 && reply.data[0] == 0x7e);
    ktix_bytes_free(&reply);
    EXPECT(ktix_kdc_handle(kdc, req.data, req.len, &reply), KTIX_OK); /* an AP-REQ: not for a KDC */
    TRUE(reply.len == 0);
    ktix_bytes_free(&reply);
    EXPECT(ktix_kdc_handle(kdc, NULL, 0, &reply), KTIX_OK);
    TRUE(reply.len == 0);
    ktix_bytes_free(&reply);
    EXPECT(ktix_kdc_handle(kdc, (const uint8_t *)"\x7e\x03\x02\x01\x05", 5, &reply), KTIX_OK);
    TRUE(reply.len == 0);
    ktix_bytes_free(&reply);

    /* Index out of range. */
    {
        ktix_keytab_entry_info e;
        ktix_credentials *list = NULL;
        ktix_credential_info info;
        EXPECT(ktix_keytab_entry(kt, ktix_keytab_len(kt), &e), KTIX_ERR_INVALID_ARGUMENT);
        TRUE(e.principal == NULL);
        EXPECT(ktix_keytab_entry(kt, (size_t)-1, &e), KTIX_ERR_INVALID_ARGUMENT);
        EXPECT(ktix_ccache_credentials(cc, &list), KTIX_OK);
        EXPECT(ktix_credentials_get(list, 99, &info), KTIX_ERR_INVALID_ARGUMENT);
        EXPECT(ktix_credentials_get(list, 0, NULL), KTIX_ERR_NULL_ARGUMENT);
        ktix_credentials_free(list);
    }

    /* Buffers freed twice: the first free resets them, the second does nothing. */
    ktix_bytes_free(&req);
    TRUE(req.data == NULL && req.len == 0);
    ktix_bytes_free(&req);
    {
        ktix_secret s = {NULL, 0, 0};
        EXPECT(ktix_accepted_session_key(accepted, &s), KTIX_OK);
        ktix_secret_free(&s);
        TRUE(s.data == NULL && s.len == 0 && s.enctype == 0);
        ktix_secret_free(&s);
    }
    /* Handles: free, set to NULL, free again (the pattern the header recommends). */
    ktix_accepted_free(accepted);
    accepted = NULL;
    ktix_accepted_free(accepted);

    printf("bad messages: %d garbage inputs answered with result codes\n", garbage_inputs);
    ktix_bytes_free(&req2);
    ktix_ap_context_free(ctx);
    ktix_ap_context_free(ctx2);
    ktix_acceptor_free(acc);
    ktix_client_free(client);
    ktix_ccache_free(cc);
    ktix_keytab_free(kt);
    ktix_kdc_free(kdc);
}

static void names_and_messages(void) {
    char small[8], big[512];
    size_t n = 0;
    ktix_kdc *kdc = NULL;
    int i;

    TRUE(strcmp(ktix_result_name(KTIX_OK), "KTIX_OK") == 0);
    TRUE(strcmp(ktix_result_name(KRB_AP_ERR_SKEW), "KRB_AP_ERR_SKEW") == 0);
    TRUE(strcmp(ktix_result_name(KTIX_ERR_PANIC), "KTIX_ERR_PANIC") == 0);
    for (i = -5; i < 2000; i += 3) TRUE(ktix_result_name(i) != NULL);

    EXPECT(ktix_kdc_new("", &kdc), KTIX_ERR_INVALID_ARGUMENT);
    TRUE(strlen(ktix_last_error_message()) > 0);
    EXPECT(ktix_last_error_message_copy(NULL, 0, &n), KTIX_ERR_INVALID_ARGUMENT); /* size query */
    TRUE(n == strlen(ktix_last_error_message()));
    EXPECT(ktix_last_error_message_copy(small, sizeof small, NULL), KTIX_ERR_INVALID_ARGUMENT); /* cut */
    TRUE(strlen(small) == sizeof small - 1);
    EXPECT(ktix_last_error_message_copy(big, sizeof big, &n), KTIX_OK);
    TRUE(strcmp(big, ktix_last_error_message()) == 0);
    EXPECT(ktix_last_error_message_copy(NULL, 10, NULL), KTIX_ERR_NULL_ARGUMENT);
    /* A successful call clears the message. */
    EXPECT(ktix_kdc_new(REALM, &kdc), KTIX_OK);
    TRUE(strcmp(ktix_last_error_message(), "") == 0);
    EXPECT(ktix_last_error_message_copy(small, sizeof small, &n), KTIX_OK);
    TRUE(n == 0 && small[0] == 0);
    ktix_kdc_free(kdc);
}

int main(void) {
    nulls_everywhere();
    bad_values();
    bad_messages();
    names_and_messages();
    printf("abuse: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
