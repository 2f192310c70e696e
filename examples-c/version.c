/*
 * version.c: the smallest libktix program. Prints the library version, checks that it is the
 * version of the header this program was built with (KTIX_VERSION_MAJOR/MINOR/PATCH), and that
 * result codes have names.
 *
 *   cc -Wall -Wextra -Werror -I include examples-c/version.c -L target/debug -lktix -o version
 *
 * With --header, prints only the header's version (MAJOR.MINOR.PATCH), for scripts/test.sh to
 * compare with `pkg-config --modversion ktix`.
 */
#include <stdio.h>
#include <string.h>

#include "ktix.h"

int main(int argc, char **argv) {
    char header[64];
    snprintf(header, sizeof header, "%d.%d.%d", KTIX_VERSION_MAJOR, KTIX_VERSION_MINOR, KTIX_VERSION_PATCH);
    if (argc == 2 && strcmp(argv[1], "--header") == 0) {
        printf("%s\n", header);
        return 0;
    }
    const char *version = ktix_version();
    if (version == NULL || version[0] == '\0') {
        fprintf(stderr, "ktix_version() returned nothing\n");
        return 1;
    }
    printf("libktix %s\n", version);
    if (strcmp(version, header) != 0) {
        fprintf(stderr, "ktix_version() is %s but ktix.h says %s\n", version, header);
        return 1;
    }

    if (strcmp(ktix_result_name(KTIX_OK), "KTIX_OK") != 0 ||
        strcmp(ktix_result_name(37), "KRB_AP_ERR_SKEW") != 0 ||
        strcmp(ktix_result_name(-12345), "KTIX_ERR_UNKNOWN") != 0) {
        fprintf(stderr, "unexpected result names\n");
        return 1;
    }
    printf("result 37 is %s\n", ktix_result_name(37));
    return 0;
}
