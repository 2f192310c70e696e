/* GSS-API throughput of whichever libgssapi_krb5.so.2 the loader picks (benches/gss-compare.sh runs
 * it once on MIT's library and once with LD_LIBRARY_PATH on libktix's drop-in), written against
 * MIT's <gssapi/gssapi.h> only:
 *
 *   - context establishments per second: gss_init_sec_context (Kerberos V5, mutual) and
 *     gss_accept_sec_context in one process, the service ticket taken from the cache after the
 *     first round, each context deleted after use;
 *   - gss_wrap + gss_unwrap throughput with confidentiality, 16,384-byte messages (PostgreSQL's
 *     packet size), over one established context.
 *
 * Usage: gss_compare SERVICE@HOST SECONDS   (KRB5CCNAME: a cache with a TGT; KRB5_KTNAME: the
 * service's keytab; KRB5_CONFIG: the realm)
 */
#define _POSIX_C_SOURCE 200809L
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(const char *what, OM_uint32 major, OM_uint32 minor) {
    OM_uint32 m, ctx = 0;
    gss_buffer_desc a, b;
    if (!GSS_ERROR(major)) return;
    gss_display_status(&m, major, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &a);
    ctx = 0;
    gss_display_status(&m, minor, GSS_C_MECH_CODE, GSS_C_NO_OID, &ctx, &b);
    fprintf(stderr, "%s: %.*s (%.*s)\n", what, (int)a.length, (char *)a.value, (int)b.length, (char *)b.value);
    exit(1);
}

/* One context establishment; the contexts are returned when wanted, else deleted. */
static void establish(gss_name_t target, gss_ctx_id_t *init_out, gss_ctx_id_t *acc_out) {
    OM_uint32 major, minor, flags;
    gss_ctx_id_t init = GSS_C_NO_CONTEXT, acc = GSS_C_NO_CONTEXT;
    gss_buffer_desc t1 = GSS_C_EMPTY_BUFFER, t2 = GSS_C_EMPTY_BUFFER, t3 = GSS_C_EMPTY_BUFFER;
    major = gss_init_sec_context(&minor, GSS_C_NO_CREDENTIAL, &init, target, (gss_OID)gss_mech_krb5,
                                 GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG | GSS_C_CONF_FLAG, 0,
                                 GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &t1, &flags, NULL);
    check("gss_init_sec_context", major, minor);
    major = gss_accept_sec_context(&minor, &acc, GSS_C_NO_CREDENTIAL, &t1, GSS_C_NO_CHANNEL_BINDINGS, NULL, NULL, &t2,
                                   &flags, NULL, NULL);
    check("gss_accept_sec_context", major, minor);
    major = gss_init_sec_context(&minor, GSS_C_NO_CREDENTIAL, &init, target, (gss_OID)gss_mech_krb5,
                                 GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG | GSS_C_CONF_FLAG, 0,
                                 GSS_C_NO_CHANNEL_BINDINGS, &t2, NULL, &t3, &flags, NULL);
    check("gss_init_sec_context (AP-REP)", major, minor);
    if (major != GSS_S_COMPLETE) {
        fprintf(stderr, "the context needs more than one round trip\n");
        exit(1);
    }
    gss_release_buffer(&minor, &t1);
    gss_release_buffer(&minor, &t2);
    gss_release_buffer(&minor, &t3);
    if (init_out) *init_out = init; else gss_delete_sec_context(&minor, &init, GSS_C_NO_BUFFER);
    if (acc_out) *acc_out = acc; else gss_delete_sec_context(&minor, &acc, GSS_C_NO_BUFFER);
}

int main(int argc, char **argv) {
    OM_uint32 major, minor;
    if (argc != 3) {
        fprintf(stderr, "usage: %s SERVICE@HOST SECONDS\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[2]);
    gss_buffer_desc name = {strlen(argv[1]), argv[1]};
    gss_name_t target;
    major = gss_import_name(&minor, &name, GSS_C_NT_HOSTBASED_SERVICE, &target);
    check("gss_import_name", major, minor);

    establish(target, NULL, NULL); /* the service ticket goes into the cache */
    long n = 0;
    double start = now(), t;
    do {
        establish(target, NULL, NULL);
        n++;
    } while ((t = now() - start) < seconds);
    printf("context establishments: %.0f/s (%ld in %.2f s)\n", n / t, n, t);

    gss_ctx_id_t init, acc;
    establish(target, &init, &acc);
    enum { SIZE = 16384 };
    static unsigned char payload[SIZE];
    for (int i = 0; i < SIZE; i++) payload[i] = (unsigned char)(i * 31 + 7);
    gss_buffer_desc in = {SIZE, payload};
    n = 0;
    start = now();
    do {
        gss_buffer_desc wrapped, out;
        int conf = 0;
        major = gss_wrap(&minor, init, 1, GSS_C_QOP_DEFAULT, &in, &conf, &wrapped);
        check("gss_wrap", major, minor);
        major = gss_unwrap(&minor, acc, &wrapped, &out, &conf, NULL);
        check("gss_unwrap", major, minor);
        if (major != GSS_S_COMPLETE || !conf || out.length != SIZE || memcmp(out.value, payload, SIZE) != 0) {
            fprintf(stderr, "gss_unwrap gave back something else (major 0x%x)\n", major);
            return 1;
        }
        gss_release_buffer(&minor, &wrapped);
        gss_release_buffer(&minor, &out);
        n++;
    } while ((t = now() - start) < seconds);
    printf("wrap+unwrap (conf, 16384 bytes): %.0f/s, %.1f MB/s (%ld in %.2f s)\n", n / t, n * (double)SIZE / t / 1e6, n, t);
    gss_delete_sec_context(&minor, &init, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&minor, &acc, GSS_C_NO_BUFFER);
    gss_release_name(&minor, &target);
    return 0;
}
