/*
 * ffi_acceptor.c: AP-REQ verifications per second through the C interface of libktix, to set
 * beside the Rust figure of `cargo bench --bench exchanges -- acceptor_accept` (criterion,
 * "mutual 18": aes256-cts-hmac-sha1-96 tickets and session keys, as here: ktix_kdc_new() gives a
 * realm MIT 1.20's default enctypes; the figures in the README were measured with enctype 20,
 * the default before).
 *
 * The same work as the Rust bench: one thread, a fresh mutual-authentication AP-REQ for every
 * verification (built beforehand, not timed), verified by ktix_acceptor_accept() and the result
 * freed with ktix_accepted_free(). The realm is in this process (no network).
 *
 * Then the whole AP exchange, timed, as MIT's krb5_mk_req_extended() + krb5_rd_req() is timed by
 * `kdc-load ap` (benches/ffi_acceptor.sh --mit runs it beside): ktix_client_ap_req() from the
 * cached service ticket (mutual) + ktix_acceptor_accept() with the replay cache on, per exchange.
 *
 *   bash benches/ffi_acceptor.sh            # builds the release library and runs this
 *   ffi_acceptor [VERIFICATIONS [ROUNDS]]   # default 20000 per round, 5 rounds
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ktix.h"

#define REALM "KTIX.TEST"
#define SERVICE "host/server.ktix.test"

#define CHECK(call)                                                                                     \
    do {                                                                                                \
        ktix_result r_ = (call);                                                                        \
        if (r_ != KTIX_OK) {                                                                            \
            fprintf(stderr, "ffi_acceptor: %s: %s: %s\n", #call, ktix_result_name(r_), ktix_last_error_message()); \
            goto done;                                                                                  \
        }                                                                                               \
    } while (0)

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    long count = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
    ktix_kdc *kdc = NULL;
    ktix_keytab *keytab = NULL;
    ktix_ccache *ccache = NULL;
    ktix_client *client = NULL;
    ktix_acceptor *acceptor = NULL;
    ktix_bytes *reqs = NULL;
    double *rates = NULL;
    long i, round, made = 0;
    int status = 1;

    if (count < 1 || rounds < 1) {
        fprintf(stderr, "usage: %s [VERIFICATIONS [ROUNDS]]\n", argv[0]);
        return 2;
    }
    reqs = (ktix_bytes *)calloc((size_t)count, sizeof *reqs);
    rates = (double *)calloc((size_t)rounds, sizeof *rates);
    if (reqs == NULL || rates == NULL) goto done;

    CHECK(ktix_kdc_new(REALM, &kdc));
    CHECK(ktix_kdc_add_principal(kdc, "alice", "alice-pw"));
    CHECK(ktix_kdc_add_principal(kdc, SERVICE, NULL));
    CHECK(ktix_kdc_keytab(kdc, SERVICE, &keytab));
    CHECK(ktix_ccache_new_memory(&ccache));
    CHECK(ktix_client_new_in_process(kdc, ccache, &client));
    CHECK(ktix_client_login(client, "alice", "alice-pw"));

    for (round = 0; round < rounds; round++) {
        double start, elapsed;
        /* A fresh acceptor per round: its replay cache starts empty each time. */
        ktix_acceptor_free(acceptor);
        acceptor = NULL;
        CHECK(ktix_acceptor_new(keytab, &acceptor));
        for (made = 0; made < count; made++) CHECK(ktix_client_ap_req(client, SERVICE, true, &reqs[made], NULL));

        start = now_seconds();
        for (i = 0; i < count; i++) {
            ktix_accepted *accepted = NULL;
            CHECK(ktix_acceptor_accept(acceptor, reqs[i].data, reqs[i].len, &accepted));
            ktix_accepted_free(accepted);
        }
        elapsed = now_seconds() - start;
        rates[round] = (double)count / elapsed;
        printf("round %ld: %ld verifications in %.3f s: %.0f /s (%.2f us each)\n", round + 1, count, elapsed,
               rates[round], elapsed * 1e6 / (double)count);
        for (i = 0; i < count; i++) ktix_bytes_free(&reqs[i]);
        made = 0;
    }
    qsort(rates, (size_t)rounds, sizeof *rates, compare_doubles);
    printf("ktix_acceptor_accept through the C ABI (mutual, enctype 18): median %.0f verifications/s "
           "(%.2f us each), best %.0f /s\n",
           rates[rounds / 2], 1e6 / rates[rounds / 2], rates[rounds - 1]);

    for (round = 0; round < rounds; round++) {
        double start, elapsed;
        ktix_acceptor_free(acceptor);
        acceptor = NULL;
        CHECK(ktix_acceptor_new(keytab, &acceptor));
        start = now_seconds();
        for (i = 0; i < count; i++) {
            ktix_bytes req = {NULL, 0};
            ktix_accepted *accepted = NULL;
            CHECK(ktix_client_ap_req(client, SERVICE, true, &req, NULL));
            ktix_result r = ktix_acceptor_accept(acceptor, req.data, req.len, &accepted);
            ktix_bytes_free(&req);
            CHECK(r);
            ktix_accepted_free(accepted);
        }
        elapsed = now_seconds() - start;
        rates[round] = (double)count / elapsed;
        printf("round %ld: %ld exchanges in %.3f s: %.0f /s (%.2f us each)\n", round + 1, count, elapsed, rates[round],
               elapsed * 1e6 / (double)count);
    }
    qsort(rates, (size_t)rounds, sizeof *rates, compare_doubles);
    printf("ktix_client_ap_req + ktix_acceptor_accept through the C ABI (mutual, enctype 18, replay cache on): "
           "median %.0f exchanges/s (%.2f us each), best %.0f /s\n",
           rates[rounds / 2], 1e6 / rates[rounds / 2], rates[rounds - 1]);
    status = 0;

done:
    for (i = 0; reqs != NULL && i < made; i++) ktix_bytes_free(&reqs[i]);
    free(reqs);
    free(rates);
    ktix_acceptor_free(acceptor);
    ktix_client_free(client);
    ktix_ccache_free(ccache);
    ktix_keytab_free(keytab);
    ktix_kdc_free(kdc);
    return status;
}
