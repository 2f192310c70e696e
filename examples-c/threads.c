/*
 * threads.c: one client and one acceptor shared by several POSIX threads.
 *
 * libktix handles are thread-safe: every thread below builds AP-REQs with the same ktix_client
 * (the service ticket is fetched from the KDC once and then reused by all), has them verified by
 * the same ktix_acceptor (one replay cache for all), and checks the AP-REPs. Each thread also
 * checks that libktix's last-error message is its own: a deliberate failure in one thread does
 * not show in another.
 *
 *   cc -std=c99 -Wall -Wextra -Werror -Iinclude examples-c/threads.c -Ltarget/debug -lktix -lpthread
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ktix.h"

#define REALM "KTIX.TEST"
#define SERVICE "host/server.ktix.test"
#define THREADS 4
#define ROUNDS 25

struct shared {
    const ktix_client *client;
    const ktix_acceptor *acceptor;
};

struct job {
    const struct shared *shared;
    int index;
    int accepted;       /* AP-REQs accepted and AP-REPs verified */
    ktix_result failed; /* the first unexpected result, or KTIX_OK */
};

/* One round: AP-REQ, accept, AP-REP, verify. */
static ktix_result round_trip(const struct shared *s) {
    ktix_bytes ap_req = {NULL, 0};
    ktix_ap_context *ctx = NULL;
    ktix_accepted *accepted = NULL;
    const uint8_t *ap_rep = NULL;
    size_t ap_rep_len = 0;
    ktix_result r;

    r = ktix_client_ap_req(s->client, SERVICE, true, &ap_req, &ctx);
    if (r == KTIX_OK) r = ktix_acceptor_accept(s->acceptor, ap_req.data, ap_req.len, &accepted);
    if (r == KTIX_OK) r = ktix_accepted_ap_rep(accepted, &ap_rep, &ap_rep_len);
    if (r == KTIX_OK) r = ktix_ap_context_verify(ctx, ap_rep, ap_rep_len);
    if (r == KTIX_OK && strcmp(ktix_accepted_client(accepted), "alice@" REALM) != 0) r = KTIX_ERR_REPLY_MISMATCH;
    /* The same AP-REQ again is a replay, whichever thread sees it. */
    if (r == KTIX_OK) {
        ktix_accepted *again = NULL;
        ktix_result replay = ktix_acceptor_accept(s->acceptor, ap_req.data, ap_req.len, &again);
        if (replay != KRB_AP_ERR_REPEAT || again != NULL) r = replay == KTIX_OK ? KTIX_ERR_INVALID_ARGUMENT : replay;
        ktix_accepted_free(again);
    }
    ktix_accepted_free(accepted);
    ktix_ap_context_free(ctx);
    ktix_bytes_free(&ap_req);
    return r;
}

/* The last error is per thread: fail on purpose, then check that the message is this thread's
 * while the other threads go on calling libktix. */
static ktix_result own_error(int index) {
    char path[64];
    ktix_keytab *kt = NULL;
    ktix_result r;
    snprintf(path, sizeof path, "/nonexistent/keytab-of-thread-%d", index);
    r = ktix_keytab_load(path, &kt);
    if (r != KTIX_ERR_IO || kt != NULL || strstr(ktix_last_error_message(), path) == NULL) {
        fprintf(stderr, "thread %d: expected KTIX_ERR_IO about %s, got %s: %s\n", index, path, ktix_result_name(r),
                ktix_last_error_message());
        return r == KTIX_OK ? KTIX_ERR_INVALID_ARGUMENT : r;
    }
    return KTIX_OK;
}

static void *worker(void *arg) {
    struct job *job = (struct job *)arg;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        ktix_result r = own_error(job->index);
        if (r == KTIX_OK) r = round_trip(job->shared);
        if (r != KTIX_OK) {
            if (job->failed == KTIX_OK) job->failed = r;
            fprintf(stderr, "thread %d: %s: %s\n", job->index, ktix_result_name(r), ktix_last_error_message());
            continue;
        }
        job->accepted++;
    }
    return NULL;
}

#define CHECK(call)                                                                                   \
    do {                                                                                              \
        ktix_result r_ = (call);                                                                      \
        if (r_ != KTIX_OK) {                                                                          \
            fprintf(stderr, "threads: %s: %s: %s\n", #call, ktix_result_name(r_), ktix_last_error_message()); \
            goto done;                                                                                \
        }                                                                                             \
    } while (0)

int main(void) {
    ktix_kdc *kdc = NULL;
    ktix_keytab *keytab = NULL;
    ktix_kdc_server *server = NULL;
    ktix_ccache *ccache = NULL;
    ktix_client *client = NULL;
    ktix_acceptor *acceptor = NULL;
    struct shared shared;
    struct job jobs[THREADS];
    pthread_t tids[THREADS];
    int started = 0, i, total = 0, status = 1;

    CHECK(ktix_kdc_new(REALM, &kdc));
    CHECK(ktix_kdc_add_principal(kdc, "alice", "alice-password"));
    CHECK(ktix_kdc_add_principal(kdc, SERVICE, NULL));
    CHECK(ktix_kdc_keytab(kdc, SERVICE, &keytab));
    CHECK(ktix_kdc_server_new(kdc, "127.0.0.1:0", 0, &server));
    CHECK(ktix_ccache_new_memory(&ccache));
    CHECK(ktix_client_new(REALM, ktix_kdc_server_address(server), ccache, &client));
    CHECK(ktix_client_login(client, "alice", "alice-password"));
    CHECK(ktix_acceptor_new(keytab, &acceptor));

    shared.client = client;
    shared.acceptor = acceptor;
    for (i = 0; i < THREADS; i++) {
        jobs[i].shared = &shared;
        jobs[i].index = i;
        jobs[i].accepted = 0;
        jobs[i].failed = KTIX_OK;
        if (pthread_create(&tids[i], NULL, worker, &jobs[i]) != 0) {
            fprintf(stderr, "threads: pthread_create failed\n");
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++) pthread_join(tids[i], NULL);

    status = started == THREADS ? 0 : 1;
    for (i = 0; i < started; i++) {
        total += jobs[i].accepted;
        if (jobs[i].failed != KTIX_OK) status = 1;
    }
    printf("%d threads, one client and one acceptor: %d of %d exchanges accepted and verified\n", started,
           total, THREADS * ROUNDS);
    if (total != THREADS * ROUNDS) status = 1;
    if (status == 0) printf("threads: OK\n");

done:
    ktix_acceptor_free(acceptor);
    ktix_client_free(client);
    ktix_ccache_free(ccache);
    ktix_kdc_server_free(server);
    ktix_keytab_free(keytab);
    ktix_kdc_free(kdc);
    return status;
}
