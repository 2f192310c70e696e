/*
 * database.c: a realm kept in a database file. The first ktix_kdc_open() creates the database
 * (and its master-key stash beside it); principals added are stored at once; a later open finds
 * them again. The service's keytab is exported to a file and loaded back, as a service would,
 * and a client of the reopened realm (in process, no network) authenticates to the service.
 *
 *   database [DIRECTORY]     (default: a new directory under /tmp, removed at the end)
 *
 *   cc -std=c99 -Wall -Wextra -Werror -Iinclude examples-c/database.c -Ltarget/debug -lktix
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktix.h"

#define REALM "DB.KTIX.TEST"
#define SERVICE "host/db.ktix.test"

#define CHECK(call)                                                                                 \
    do {                                                                                            \
        ktix_result r_ = (call);                                                                    \
        if (r_ != KTIX_OK) {                                                                        \
            fprintf(stderr, "database: %s: %s: %s\n", #call, ktix_result_name(r_), ktix_last_error_message()); \
            goto done;                                                                              \
        }                                                                                           \
    } while (0)

int main(int argc, char **argv) {
    char dir[256] = "/tmp/ktix-database-XXXXXX";
    char db[320], stash[330], keytab_file[320];
    ktix_kdc *kdc = NULL;
    ktix_keytab *keytab = NULL, *loaded = NULL;
    ktix_ccache *ccache = NULL;
    ktix_client *client = NULL;
    ktix_acceptor *acceptor = NULL;
    ktix_accepted *accepted = NULL;
    ktix_bytes ap_req = {NULL, 0};
    size_t i;
    int status = 1, own_dir = argc < 2;

    if (own_dir) {
        if (mkdtemp(dir) == NULL) {
            perror("database: mkdtemp");
            return 1;
        }
    } else {
        snprintf(dir, sizeof dir, "%s", argv[1]);
    }
    snprintf(db, sizeof db, "%s/realm.db", dir);
    snprintf(stash, sizeof stash, "%s.stash", db);
    snprintf(keytab_file, sizeof keytab_file, "%s/service.keytab", dir);

    /* Create the realm database and add two principals. */
    CHECK(ktix_kdc_open(db, REALM, &kdc));
    CHECK(ktix_kdc_add_principal(kdc, "alice", "alice-password"));
    CHECK(ktix_kdc_add_principal(kdc, SERVICE, NULL));
    CHECK(ktix_kdc_keytab(kdc, SERVICE, &keytab));
    CHECK(ktix_keytab_save(keytab, keytab_file));
    printf("created %s (stash %s) with alice and %s; keytab in %s\n", db, stash, SERVICE, keytab_file);
    ktix_keytab_free(keytab);
    keytab = NULL;
    ktix_kdc_free(kdc);
    kdc = NULL;

    /* Open it again (the realm name may be left out): the principals are there. */
    CHECK(ktix_kdc_open(db, NULL, &kdc));
    if (ktix_kdc_add_principal(kdc, "alice", "again") != KTIX_ERR_EXISTS) {
        fprintf(stderr, "database: alice should already exist\n");
        goto done;
    }

    /* The service loads its keytab from the file. */
    CHECK(ktix_keytab_load(keytab_file, &loaded));
    for (i = 0; i < ktix_keytab_len(loaded); i++) {
        ktix_keytab_entry_info e;
        CHECK(ktix_keytab_entry(loaded, i, &e));
        printf("  keytab entry: %s kvno %u enctype %d\n", e.principal, (unsigned)e.kvno, (int)e.enctype);
    }
    CHECK(ktix_acceptor_new(loaded, &acceptor));

    /* A client of the reopened realm, talking to the KDC in this process. */
    CHECK(ktix_ccache_new_memory(&ccache));
    CHECK(ktix_client_new_in_process(kdc, ccache, &client));
    CHECK(ktix_client_login(client, "alice", "alice-password"));
    CHECK(ktix_client_ap_req(client, SERVICE, false, &ap_req, NULL));
    CHECK(ktix_acceptor_accept(acceptor, ap_req.data, ap_req.len, &accepted));
    printf("reopened realm: %s authenticated to %s\n", ktix_accepted_client(accepted), ktix_accepted_server(accepted));
    CHECK(ktix_client_logout(client));
    status = 0;
    printf("database: OK\n");

done:
    ktix_bytes_free(&ap_req);
    ktix_accepted_free(accepted);
    ktix_acceptor_free(acceptor);
    ktix_client_free(client);
    ktix_ccache_free(ccache);
    ktix_keytab_free(loaded);
    ktix_keytab_free(keytab);
    ktix_kdc_free(kdc);
    if (own_dir) {
        char wal[340], shm[340];
        snprintf(wal, sizeof wal, "%s-wal", db);
        snprintf(shm, sizeof shm, "%s-shm", db);
        unlink(keytab_file);
        unlink(wal);
        unlink(shm);
        unlink(stash);
        unlink(db);
        rmdir(dir);
    }
    return status;
}
