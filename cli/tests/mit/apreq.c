/*
 * apreq: the MIT krb5 side of the AP-exchange interop tests (tests/mit_interop_ap.rs).
 * Built by the tests into their temporary directory with
 *     cc apreq.c -o apreq $(krb5-config --cflags --libs krb5)
 * Messages travel as one line of hexadecimal each, so one process keeps its auth context
 * between building a request and checking the reply.
 *
 *   apreq mkreq SERVICE [DELAY | +AFTER]
 *       Gets a ticket for SERVICE with the default credential cache (krb5_get_credentials:
 *       from the cache, or from the KDC), waits DELAY seconds (default 0), or until AFTER
 *       seconds past the ticket's end time with "+AFTER", builds an AP-REQ with
 *       krb5_mk_req_extended and AP_OPTS_MUTUAL_REQUIRED and prints "apreq HEX". Then reads one
 *       line: "aprep HEX" is checked with krb5_rd_rep ("verified" printed, exit 0; exit 3 if it
 *       fails); "skip" ends it (exit 0).
 *   apreq rdreq KEYTAB
 *       Reads one line "HEX" (an AP-REQ), checks it with krb5_rd_req and KEYTAB (any service in
 *       it), prints "client NAME", "server NAME", "enctype N", then "aprep HEX" (krb5_mk_rep) when
 *       the request asked for mutual authentication. Exit 3 if krb5_rd_req fails.
 * Other failures exit 2. Errors go to standard error as "apreq: WHAT: MESSAGE (CODE)".
 */
#include <krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static krb5_context ctx;

static void die(const char *what, krb5_error_code code, int status)
{
    const char *msg = krb5_get_error_message(ctx, code);
    fprintf(stderr, "apreq: %s: %s (%ld)\n", what, msg, (long)code);
    krb5_free_error_message(ctx, msg);
    exit(status);
}

static void check(const char *what, krb5_error_code code)
{
    if (code != 0)
        die(what, code, 2);
}

static void print_hex(const char *tag, const krb5_data *d)
{
    unsigned int i;

    printf("%s ", tag);
    for (i = 0; i < d->length; i++)
        printf("%02x", (unsigned char)d->data[i]);
    printf("\n");
    fflush(stdout);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads one line from stdin into *line (without the newline); 0 at end of input. */
static int read_line(char **line)
{
    size_t cap = 0;
    ssize_t n;

    *line = NULL;
    n = getline(line, &cap, stdin);
    if (n < 0)
        return 0;
    while (n > 0 && ((*line)[n - 1] == '\n' || (*line)[n - 1] == '\r'))
        (*line)[--n] = '\0';
    return 1;
}

/* Decodes the hexadecimal text into out (malloc'd). */
static void decode_hex(const char *text, krb5_data *out)
{
    size_t len = strlen(text), i;
    int hi, lo;

    if (len % 2 != 0) {
        fprintf(stderr, "apreq: odd number of hex digits\n");
        exit(2);
    }
    out->magic = KV5M_DATA;
    out->length = (unsigned int)(len / 2);
    out->data = malloc(len / 2 + 1);
    if (out->data == NULL) {
        fprintf(stderr, "apreq: out of memory\n");
        exit(2);
    }
    for (i = 0; i < len / 2; i++) {
        hi = hex_value(text[2 * i]);
        lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "apreq: not hexadecimal: %s\n", text);
            exit(2);
        }
        out->data[i] = (char)(hi * 16 + lo);
    }
}

static int mkreq(const char *service, const char *wait)
{
    krb5_ccache cc;
    krb5_principal me, server;
    krb5_creds wanted, *creds = NULL;
    krb5_auth_context ac = NULL;
    krb5_data req, rep;
    krb5_ap_rep_enc_part *part = NULL;
    krb5_error_code code;
    char *line;

    check("krb5_cc_default", krb5_cc_default(ctx, &cc));
    check("krb5_cc_get_principal", krb5_cc_get_principal(ctx, cc, &me));
    check("krb5_parse_name", krb5_parse_name(ctx, service, &server));
    memset(&wanted, 0, sizeof(wanted));
    wanted.client = me;
    wanted.server = server;
    check("krb5_get_credentials", krb5_get_credentials(ctx, 0, cc, &wanted, &creds));
    if (wait != NULL && wait[0] == '+') {
        /* Until AFTER seconds (and a tenth) past the end time. */
        struct timespec now, left;
        double until = (double)creds->times.endtime + atoi(wait + 1) + 0.1, rest;

        clock_gettime(CLOCK_REALTIME, &now);
        rest = until - ((double)now.tv_sec + now.tv_nsec / 1e9);
        if (rest > 0) {
            left.tv_sec = (time_t)rest;
            left.tv_nsec = (long)((rest - (double)left.tv_sec) * 1e9);
            while (nanosleep(&left, &left) != 0)
                ;
        }
    } else if (wait != NULL && atoi(wait) > 0) {
        sleep((unsigned int)atoi(wait));
    }
    check("krb5_mk_req_extended",
          krb5_mk_req_extended(ctx, &ac, AP_OPTS_MUTUAL_REQUIRED, NULL, creds, &req));
    print_hex("apreq", &req);
    krb5_free_data_contents(ctx, &req);

    if (!read_line(&line)) {
        fprintf(stderr, "apreq: no reply line\n");
        return 2;
    }
    if (strcmp(line, "skip") == 0) {
        free(line);
        return 0;
    }
    if (strncmp(line, "aprep ", 6) != 0) {
        fprintf(stderr, "apreq: expected \"aprep HEX\" or \"skip\", got: %s\n", line);
        return 2;
    }
    decode_hex(line + 6, &rep);
    free(line);
    code = krb5_rd_rep(ctx, ac, &rep, &part);
    if (code != 0)
        die("krb5_rd_rep", code, 3);
    printf("verified\n");
    fflush(stdout);
    krb5_free_ap_rep_enc_part(ctx, part);
    free(rep.data);
    krb5_auth_con_free(ctx, ac);
    krb5_free_creds(ctx, creds);
    krb5_free_principal(ctx, server);
    krb5_free_principal(ctx, me);
    krb5_cc_close(ctx, cc);
    return 0;
}

static int rdreq(const char *keytab_name)
{
    krb5_keytab kt;
    krb5_auth_context ac = NULL;
    krb5_data req, rep;
    krb5_flags options = 0;
    krb5_ticket *ticket = NULL;
    krb5_error_code code;
    char *line, *client, *server;

    check("krb5_kt_resolve", krb5_kt_resolve(ctx, keytab_name, &kt));
    if (!read_line(&line)) {
        fprintf(stderr, "apreq: no request line\n");
        return 2;
    }
    decode_hex(line, &req);
    free(line);
    code = krb5_rd_req(ctx, &ac, &req, NULL, kt, &options, &ticket);
    if (code != 0)
        die("krb5_rd_req", code, 3);
    check("krb5_unparse_name", krb5_unparse_name(ctx, ticket->enc_part2->client, &client));
    check("krb5_unparse_name", krb5_unparse_name(ctx, ticket->server, &server));
    printf("client %s\nserver %s\nenctype %d\n", client, server, (int)ticket->enc_part.enctype);
    if (options & AP_OPTS_MUTUAL_REQUIRED) {
        check("krb5_mk_rep", krb5_mk_rep(ctx, ac, &rep));
        print_hex("aprep", &rep);
        krb5_free_data_contents(ctx, &rep);
    }
    fflush(stdout);
    krb5_free_unparsed_name(ctx, client);
    krb5_free_unparsed_name(ctx, server);
    krb5_free_ticket(ctx, ticket);
    krb5_auth_con_free(ctx, ac);
    free(req.data);
    krb5_kt_close(ctx, kt);
    return 0;
}

int main(int argc, char **argv)
{
    int status;

    if (krb5_init_context(&ctx) != 0) {
        fprintf(stderr, "apreq: krb5_init_context failed\n");
        return 2;
    }
    if (argc >= 3 && argc <= 4 && strcmp(argv[1], "mkreq") == 0)
        status = mkreq(argv[2], argc == 4 ? argv[3] : NULL);
    else if (argc == 3 && strcmp(argv[1], "rdreq") == 0)
        status = rdreq(argv[2]);
    else {
        fprintf(stderr, "usage: apreq mkreq SERVICE [DELAY | +AFTER] | apreq rdreq KEYTAB\n");
        status = 2;
    }
    krb5_free_context(ctx);
    return status;
}
